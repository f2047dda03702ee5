//! Which districts a permission reaches for one user: the vocabulary the
//! policy (audit) answers in and the registry and domain crates filter by.

use std::collections::BTreeSet;

/// Which districts a permission reaches for one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Districts(BTreeSet<String>),
}

impl Scope {
    /// A camera with no district is reached only by an all-district scope.
    pub fn covers(&self, district: Option<&str>) -> bool {
        match (self, district) {
            (Scope::All, _) => true,
            (Scope::Districts(set), Some(d)) => set.contains(d),
            (Scope::Districts(_), None) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_district_scope_reaches_its_districts_only() {
        let scope = Scope::Districts(BTreeSet::from(["A".to_owned()]));
        assert!(scope.covers(Some("A")));
        assert!(!scope.covers(Some("B")));
        assert!(!scope.covers(None), "a camera with no district is outside every district scope");
        assert!(Scope::All.covers(None));
    }
}
