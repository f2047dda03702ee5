//! A statement's parameters built up with its text, for the queries
//! whose filters are optional (a listing's state, districts, paging).

use postgres::types::ToSql;

/// A statement's parameters, built up with its text.
#[derive(Default)]
pub(crate) struct Params(Vec<Box<dyn ToSql + Sync>>);

impl Params {
    /// Adds `value` and returns its placeholder (`$n`).
    pub(crate) fn push(&mut self, value: impl ToSql + Sync + 'static) -> String {
        self.0.push(Box::new(value));
        format!("${}", self.0.len())
    }

    pub(crate) fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.0.iter().map(|p| p.as_ref()).collect()
    }
}
