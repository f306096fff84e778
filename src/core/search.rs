//! Ranked fuzzy search over the catalog with `nucleo-matcher` (fzf scoring; maintained,
//! and measured 3 to 4 times faster than the archived `fuzzy-matcher`, see docs/BENCHMARKS.md).
//!
//! Each entry gets two haystacks, built once: a short primary one (id, name, tags) matched
//! fuzzily (fzf syntax), and the description, matched by substring: fuzzy subsequences over long
//! prose match almost anything and cost the most. Every word of the query must match in one of
//! the two; primary matches weigh more, and an exact id match ranks first.

use nucleo_matcher::pattern::{AtomKind, CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32String};
use serde::{Deserialize, Serialize};

use crate::core::catalog::{Catalog, ServerEntry, Transport};

/// A catalog query.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Query {
    /// Fuzzy text; empty lists everything.
    #[serde(default)]
    pub text: String,
    /// Only this transport.
    #[serde(default)]
    pub transport: Option<Transport>,
    /// Only entries with this tag (case-insensitive).
    #[serde(default)]
    pub tag: Option<String>,
}

/// One search result: an index into [`Catalog::entries`] and its score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Hit {
    /// Index into the catalog's entries.
    pub index: usize,
    /// Higher is better.
    pub score: u32,
}

/// Pre-computed haystacks for a catalog.
#[derive(Debug, Clone, Default)]
pub struct SearchIndex {
    primary: Vec<Utf32String>,
    description: Vec<Utf32String>,
}

impl SearchIndex {
    /// Builds the haystacks of every entry.
    pub fn build(entries: &[ServerEntry]) -> Self {
        let primary = entries
            .iter()
            .map(|e| {
                // A name that only respells the id (registry entries without a title) would
                // double the text to match for nothing.
                let name = if same_words(&e.id, &e.name) {
                    ""
                } else {
                    e.name.as_str()
                };
                Utf32String::from(format!("{} {} {}", e.id, name, e.tags.join(" ")))
            })
            .collect();
        let description = entries
            .iter()
            .map(|e| Utf32String::from(e.description.as_str()))
            .collect();
        Self {
            primary,
            description,
        }
    }
}

/// Whether two strings have the same letters and digits, ignoring case and punctuation.
fn same_words(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect::<String>()
    };
    norm(a) == norm(b)
}

const PRIMARY_WEIGHT: u32 = 4;

/// Runs `query` against `catalog` using its prebuilt `index`. Results are sorted by score,
/// then id; an empty query returns every entry that passes the filters, by id.
pub fn search(catalog: &Catalog, index: &SearchIndex, query: &Query) -> Vec<Hit> {
    let entries = catalog.entries();
    let tag = query.tag.as_deref().map(str::to_lowercase);
    let passes = |e: &ServerEntry| {
        query.transport.is_none_or(|t| e.transport == t)
            && tag
                .as_deref()
                .is_none_or(|t| e.tags.iter().any(|x| x.eq_ignore_ascii_case(t)))
    };
    let text = query.text.trim();
    if text.is_empty() {
        return entries
            .iter()
            .enumerate()
            .filter(|(_, e)| passes(e))
            .map(|(index, _)| Hit { index, score: 0 })
            .collect();
    }
    let fuzzy = Pattern::parse(text, CaseMatching::Ignore, Normalization::Smart);
    let substring = Pattern::new(
        text,
        CaseMatching::Ignore,
        Normalization::Smart,
        AtomKind::Substring,
    );
    let mut matcher = Matcher::new(Config::DEFAULT);
    // Longest words first: they reject most entries, before the short ones are scored.
    let mut order: Vec<usize> = (0..fuzzy.atoms.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(fuzzy.atoms[i].needle_text().len()));
    let mut hits: Vec<Hit> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| passes(e))
        .filter_map(|(i, e)| {
            if e.id.eq_ignore_ascii_case(text) {
                return Some(Hit {
                    index: i,
                    score: u32::MAX,
                });
            }
            let mut score = 0u32;
            for (word, plain) in order
                .iter()
                .filter_map(|&k| Some((fuzzy.atoms.get(k)?, substring.atoms.get(k)?)))
            {
                let hay = index.primary[i].slice(..);
                // A plain word that occurs as such scores as its best fuzzy match would, and
                // finding it is much cheaper than the fuzzy alignment.
                let plain_word = word.kind == AtomKind::Fuzzy && !word.negative;
                let primary = plain_word
                    .then(|| plain.score(hay, &mut matcher))
                    .flatten()
                    .or_else(|| word.score(hay, &mut matcher))
                    .map(|s| u32::from(s) * PRIMARY_WEIGHT);
                let best = primary.or_else(|| {
                    plain
                        .score(index.description[i].slice(..), &mut matcher)
                        .map(u32::from)
                })?;
                score += best;
            }
            Some(Hit { index: i, score })
        })
        .collect();
    // The catalog's entries are sorted by id, so the index order is the id order: ties are
    // broken without comparing strings (thousands of registry ids share long prefixes).
    debug_assert!(entries.windows(2).all(|w| w[0].id <= w[1].id));
    hits.sort_unstable_by(|a, b| b.score.cmp(&a.score).then(a.index.cmp(&b.index)));
    hits
}
