//! Event ids on a session's GET stream, numbered so that `Last-Event-ID` means what the spec
//! says. rmcp (3.9) numbers that stream's messages from 0 and gives its priming event the id 0
//! as well, replays from the id it is given (so `Last-Event-ID: N` re-sends N), and replays
//! its whole cache to every new GET stream. Here the stream is renumbered on its way out:
//! message `n` goes out as `n + 1`, so the priming event's 0 means "nothing seen yet", and
//! handing the client's `Last-Event-ID` to rmcp unchanged replays exactly what follows it; a
//! new stream without `Last-Event-ID` starts after the last event already delivered on an
//! earlier one (its priming event carries that id), so nothing is sent twice.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::{Body, Bytes};
use futures_util::StreamExt as _;

/// Renumbers the events of a GET stream's `body`. `after` is the last id the client has: its
/// `Last-Event-ID`, or for a new stream the last one delivered on the session's earlier
/// streams (`delivered`, which this stream then advances).
pub fn renumber(body: Body, after: u64, delivered: Arc<AtomicU64>) -> Body {
    let mut renumber = Renumber::new(after, delivered);
    Body::from_stream(
        body.into_data_stream()
            .map(move |chunk| chunk.map(|bytes| renumber.feed(&bytes))),
    )
}

/// The renumbering of one stream (public for the fuzz target).
pub struct Renumber {
    pending: Vec<u8>,
    after: u64,
    delivered: Arc<AtomicU64>,
}

impl Renumber {
    /// A stream whose client has everything up to `after`.
    pub fn new(after: u64, delivered: Arc<AtomicU64>) -> Self {
        Self {
            pending: Vec::new(),
            after,
            delivered,
        }
    }

    /// The complete events in what came before plus `bytes`, rewritten; an incomplete tail
    /// waits for the next piece.
    pub fn feed(&mut self, bytes: &[u8]) -> Bytes {
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::with_capacity(self.pending.len() + 8);
        let mut start = 0;
        while let Some(end) = find(&self.pending[start..], b"\n\n") {
            let block = &self.pending[start..start + end + 2];
            if let Some(rewritten) = self.event(block) {
                out.extend_from_slice(&rewritten);
            }
            start += end + 2;
        }
        self.pending.drain(..start);
        Bytes::from(out)
    }

    /// One event (with its blank line): rewritten, passed through, or dropped (`None`) when
    /// the client already has it.
    fn event(&self, block: &[u8]) -> Option<Vec<u8>> {
        let text = std::str::from_utf8(block).ok()?;
        let Some(id) = text
            .lines()
            .find_map(|l| l.strip_prefix("id:"))
            .map(str::trim)
            .and_then(|v| v.parse::<u64>().ok())
        else {
            // Comments (keep-alive), and ids of request streams (`n/request`), pass.
            return Some(block.to_vec());
        };
        let priming = !text.lines().any(|l| {
            l.strip_prefix("data:")
                .is_some_and(|d| !d.trim().is_empty())
        });
        let new_id = if priming {
            self.after
        } else {
            let outgoing = id + 1;
            if outgoing <= self.after {
                return None;
            }
            self.delivered.fetch_max(outgoing, Ordering::AcqRel);
            outgoing
        };
        let mut rewritten = String::with_capacity(text.len() + 4);
        for line in text.split_inclusive('\n') {
            if line.starts_with("id:") {
                let _ = writeln!(rewritten, "id: {new_id}");
            } else {
                rewritten.push_str(line);
            }
        }
        Some(rewritten.into_bytes())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(after: u64, chunks: &[&str]) -> (String, u64) {
        let delivered = Arc::new(AtomicU64::new(0));
        let mut r = Renumber::new(after, delivered.clone());
        let out: Vec<u8> = chunks
            .iter()
            .flat_map(|c| r.feed(c.as_bytes()).to_vec())
            .collect();
        (
            String::from_utf8(out).unwrap(),
            delivered.load(Ordering::Relaxed),
        )
    }

    #[test]
    fn messages_go_out_one_above_rmcp_and_the_priming_event_keeps_the_cursor() {
        let (out, delivered) = run(
            0,
            &[
                "data: \nid: 0\nretry: 3000\n\n",
                "data: {\"a\":1}\nid: 0\n\n:ping\n\ndata: {\"a\"",
                ":2}\nid: 1\n\n",
            ],
        );
        assert_eq!(
            out,
            "data: \nid: 0\nretry: 3000\n\ndata: {\"a\":1}\nid: 1\n\n:ping\n\ndata: {\"a\":2}\nid: 2\n\n"
        );
        assert_eq!(delivered, 2);
    }

    #[test]
    fn what_the_client_has_is_not_sent_again() {
        let (out, _) = run(
            2,
            &[
                "data: \nid: 0\nretry: 3000\n\ndata: {}\nid: 0\n\ndata: {}\nid: 1\n\ndata: {}\nid: 2\n\n",
            ],
        );
        assert_eq!(out, "data: \nid: 2\nretry: 3000\n\ndata: {}\nid: 3\n\n");
    }

    #[test]
    fn request_stream_ids_pass_unchanged() {
        let (out, delivered) = run(5, &["data: {}\nid: 0/3\n\n"]);
        assert_eq!((out.as_str(), delivered), ("data: {}\nid: 0/3\n\n", 0));
    }
}
