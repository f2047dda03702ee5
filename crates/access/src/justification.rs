//! The purpose and case reference that placing a hold or giving a grant
//! asks for: both required, both readable text.

use citywatch_model::{CaseRef, FieldError, Purpose};

/// Why a purpose or case reference was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JustificationProblem {
    /// No purpose; the text says what it must explain.
    #[error("is required: {0}")]
    PurposeMissing(&'static str),
    #[error("is required: the case or incident reference")]
    CaseRefMissing,
    /// Given but not readable text ([`Purpose::parse`], [`CaseRef::parse`]).
    #[error("{}", .0.reason)]
    Unreadable(FieldError),
}

impl JustificationProblem {
    pub fn field(&self) -> &str {
        match self {
            JustificationProblem::PurposeMissing(_) => "purpose",
            JustificationProblem::CaseRefMissing => "case_ref",
            JustificationProblem::Unreadable(e) => &e.field,
        }
    }
}

/// Checks both (blank counts as missing), pushing each problem.
/// `purpose_why` says what the purpose must explain.
pub(crate) fn check(
    purpose: Option<&str>,
    case_ref: Option<&str>,
    purpose_why: &'static str,
    problems: &mut Vec<JustificationProblem>,
) -> (Option<Purpose>, Option<CaseRef>) {
    let purpose = match given(purpose) {
        None => {
            problems.push(JustificationProblem::PurposeMissing(purpose_why));
            None
        }
        Some(p) => Purpose::parse(p).map_err(|e| problems.push(JustificationProblem::Unreadable(e))).ok(),
    };
    let case_ref = match given(case_ref) {
        None => {
            problems.push(JustificationProblem::CaseRefMissing);
            None
        }
        Some(c) => CaseRef::parse(c).map_err(|e| problems.push(JustificationProblem::Unreadable(e))).ok(),
    };
    (purpose, case_ref)
}

/// The text, unless missing or blank.
fn given(v: Option<&str>) -> Option<&str> {
    v.filter(|s| !s.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_is_missing_and_each_field_is_named() {
        let mut problems = Vec::new();
        let (p, c) = check(Some("  "), None, "why", &mut problems);
        assert!(p.is_none() && c.is_none());
        assert_eq!(problems, vec![JustificationProblem::PurposeMissing("why"), JustificationProblem::CaseRefMissing]);
        assert_eq!(problems.iter().map(JustificationProblem::field).collect::<Vec<_>>(), ["purpose", "case_ref"]);
        assert_eq!(problems[0].to_string(), "is required: why");
    }

    #[test]
    fn unreadable_text_keeps_the_models_reason() {
        let mut problems = Vec::new();
        let (p, c) = check(Some("a\u{7}b"), Some("CASE-1"), "why", &mut problems);
        assert!(p.is_none());
        assert_eq!(c.unwrap().as_str(), "CASE-1");
        let [JustificationProblem::Unreadable(e)] = problems.as_slice() else { panic!("expected one unreadable purpose: {problems:?}") };
        assert_eq!(e.field, "purpose");
        assert_eq!(problems[0].to_string(), e.reason);
    }
}
