//! A response body that holds a guard until it is done and can be cut short: what keeps a
//! connection or an MCP session counted as busy while its stream is open, and what ends a
//! stream the moment its credential is revoked or expires.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use hyper::body::{Frame, SizeHint};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// `body`, holding `guard` until it is dropped, and ending (cleanly, as if complete) when `cut`
/// is cancelled.
pub struct Guarded<G> {
    body: Body,
    _guard: G,
    cut: Option<Pin<Box<WaitForCancellationFutureOwned>>>,
}

impl<G: Send + Unpin + 'static> Guarded<G> {
    /// Holds `guard` for as long as `body` lives.
    pub fn holding(body: Body, guard: G) -> Body {
        Body::new(Self {
            body,
            _guard: guard,
            cut: None,
        })
    }
}

impl Guarded<()> {
    /// Ends `body` when `cut` is cancelled.
    pub fn until(body: Body, cut: CancellationToken) -> Body {
        Body::new(Self {
            body,
            _guard: (),
            cut: Some(Box::pin(cut.cancelled_owned())),
        })
    }
}

impl<G: Unpin> hyper::body::Body for Guarded<G> {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if let Some(cut) = self.cut.as_mut()
            && cut.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(None);
        }
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
