//! Voting across the reads of one vehicle track: each read's normalised
//! text gets its confidence as a vote, and the text with the largest sum
//! wins. Reads that fit no plate format count half, so a clean formatted
//! read beats a garbled one seen as often.

use std::collections::HashMap;

/// One read of a track's plate.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackRead {
    pub text: String,
    pub score: f32,
    /// The text fits a known plate format.
    pub formatted: bool,
}

/// The winning text and its share of the votes (0..1).
pub fn vote(reads: &[TrackRead]) -> Option<(String, f32)> {
    let mut sums: HashMap<&str, f32> = HashMap::new();
    let mut total = 0.0;
    for r in reads {
        let w = if r.formatted { r.score } else { r.score * 0.5 };
        *sums.entry(r.text.as_str()).or_default() += w;
        total += w;
    }
    let (text, best) = sums.into_iter().max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(a.0)))?;
    Some((text.to_owned(), if total > 0.0 { best / total } else { 0.0 }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str, score: f32, formatted: bool) -> TrackRead {
        TrackRead { text: text.into(), score, formatted }
    }

    #[test]
    fn the_weighted_majority_wins() {
        let reads = [r("BG 123-AB", 0.9, true), r("BG 128-AB", 0.95, true), r("BG 123-AB", 0.8, true), r("BG123A", 0.99, false)];
        let (text, share) = vote(&reads).unwrap();
        assert_eq!(text, "BG 123-AB");
        assert!(share > 0.4 && share < 0.6, "{share}");
        assert_eq!(vote(&[]), None);
    }
}
