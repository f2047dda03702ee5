//! Bounds on a file import (cameras, hotlist entries): how many rows a
//! file may hold and how many row errors are reported in full. An import
//! of bad rows must cost memory in proportion to what is kept, never to
//! what was sent: the rows are read one at a time, a file over the row cap
//! is refused as a whole, and past the first `max_errors` problems only
//! their count grows.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportLimits {
    /// Rows (features, CSV lines after the header) a file may hold; more
    /// refuses the whole file before anything is stored.
    pub max_rows: usize,
    /// Row problems reported in full; the rest are only counted.
    pub max_errors: usize,
}

impl ImportLimits {
    /// A city's camera registry or a national hotlist fits well inside
    /// this; a file beyond it is better split.
    pub const DEFAULT_MAX_ROWS: usize = 200_000;
    pub const DEFAULT_MAX_ERRORS: usize = 100;
}

impl Default for ImportLimits {
    fn default() -> Self {
        ImportLimits { max_rows: Self::DEFAULT_MAX_ROWS, max_errors: Self::DEFAULT_MAX_ERRORS }
    }
}

/// Why a file was refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportRefusal {
    /// The file cannot be read at all (not JSON, no header, a missing column).
    #[error("{0}")]
    Unusable(String),
    #[error("the file has more than {max} rows, the most one import may hold; nothing was imported. Split it into files of at most {max} rows")]
    TooManyRows { max: usize },
}

/// The problems of an import's bad rows: the first `keep` in full, all of
/// them counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowErrors<E> {
    /// The first problems, in file order.
    pub errors: Vec<E>,
    /// Every problem, those in `errors` included.
    pub error_count: usize,
    /// Rows with at least one problem (none of them applied).
    pub bad_rows: usize,
    #[serde(skip)]
    keep: usize,
}

impl<E> RowErrors<E> {
    pub fn new(keep: usize) -> RowErrors<E> {
        RowErrors { errors: Vec::new(), error_count: 0, bad_rows: 0, keep }
    }

    /// Counts one bad row with its problems, keeping them while there is room.
    pub fn push_row(&mut self, problems: impl IntoIterator<Item = E>) {
        self.bad_rows += 1;
        for p in problems {
            self.error_count += 1;
            if self.errors.len() < self.keep {
                self.errors.push(p);
            }
        }
    }

    /// How many problems are kept in full.
    pub fn keep(&self) -> usize {
        self.keep
    }

    pub fn is_empty(&self) -> bool {
        self.bad_rows == 0
    }

    /// Whether some problems were counted but not kept.
    pub fn truncated(&self) -> bool {
        self.error_count > self.errors.len()
    }

    /// Adds the problems found by a later pass over other rows. Each pass
    /// kept its first `keep` in file order, so the first `keep` of both
    /// sorted by `position` are the first of the whole file.
    pub fn merge<K: Ord>(&mut self, other: RowErrors<E>, position: impl Fn(&E) -> K) {
        self.errors.extend(other.errors);
        self.errors.sort_by_key(|e| position(e));
        self.errors.truncate(self.keep);
        self.error_count += other.error_count;
        self.bad_rows += other.bad_rows;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_problems_and_counts_them_all() {
        let mut e = RowErrors::new(3);
        for row in 0..10 {
            e.push_row([row * 10, row * 10 + 1]);
        }
        assert_eq!((e.errors.as_slice(), e.error_count, e.bad_rows, e.truncated()), (&[0, 1, 10][..], 20, 10, true));
        let mut later = RowErrors::new(3);
        later.push_row([5]);
        later.push_row([105]);
        e.merge(later, |v| *v);
        assert_eq!((e.errors.as_slice(), e.error_count, e.bad_rows), (&[0, 1, 5][..], 22, 12));
    }
}
