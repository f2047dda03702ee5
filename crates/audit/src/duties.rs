//! Separation of duties: who may be given which role.
//!
//! - Nobody grants a role to themselves, whatever the role: an admin who
//!   could make itself supervisor would see video, one who could make itself
//!   auditor would check its own work. Another admin must do it, so every
//!   grant has a second person behind it (and an audit entry naming them).
//! - `admin` and `auditor` are never held by one account at the same time:
//!   the auditor is the check on what admins do. Grants that have expired do
//!   not count; a grant that is still in force does, until it is removed.
//!
//! These rules hold for the API and the command line alike. The command line
//! (`citywatch admin grant`) is the machine operator's tool to bootstrap a
//! city and has no logged-in user, so only the second rule applies there.

use citywatch_model::{AuditRow, Grant, GrantSpec, RepoError, Role, Timestamp};

use crate::repo::MakeRowAfter;
use crate::users_repo::UserRepo;

/// Who asks for a grant.
#[derive(Debug, Clone, Copy)]
pub enum Granter<'a> {
    /// A logged-in user (through the API).
    User(&'a str),
    /// Whoever runs `citywatch` on the server itself (the command line).
    MachineOperator,
}

/// Why a grant is refused; the message is meant for the person who asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantRefused {
    #[error("you cannot give yourself a role (here {role}): another admin must grant it, so that every grant has a second person behind it")]
    ToOneself { role: Role },
    #[error(
        "{username} would hold both {held} and {asked}: admin and auditor are never given to one account, because the auditor checks what admins do (separation of duties); use a separate account for each"
    )]
    AdminAndAuditor { username: String, held: Role, asked: Role },
}

#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error(transparent)]
    Refused(#[from] GrantRefused),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

/// Whether `granter` may give `role` to `grantee`, who holds `held` now
/// (roles in force, and those given earlier in the same request).
pub fn check_grant(granter: Granter<'_>, grantee: &str, role: Role, held: &[Role]) -> Result<(), GrantRefused> {
    if let Granter::User(name) = granter {
        if name == grantee {
            return Err(GrantRefused::ToOneself { role });
        }
    }
    let conflicting = match role {
        Role::Admin => Some(Role::Auditor),
        Role::Auditor => Some(Role::Admin),
        _ => None,
    };
    if let Some(held) = conflicting.filter(|c| held.contains(c)) {
        return Err(GrantRefused::AdminAndAuditor { username: grantee.to_owned(), held, asked: role });
    }
    Ok(())
}

/// Checks the grant against the grantee's grants in force at `now`, then
/// stores it with the audit entry `audit` makes from it, in one
/// transaction. The one way a role is added to an existing account.
pub fn add_grant(
    users: &dyn UserRepo,
    granter: Granter<'_>,
    grantee: &str,
    grant: &GrantSpec,
    now: Timestamp,
    audit: MakeRowAfter<'_, Grant>,
) -> Result<(Grant, AuditRow), GrantError> {
    let held = users.roles_held(grantee, now)?;
    check_grant(granter, grantee, grant.role, &held)?;
    Ok(users.add_grant(grantee, grant, audit)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};

    #[test]
    fn nobody_grants_themselves_any_role() {
        for role in Role::ALL {
            assert_eq!(check_grant(Granter::User("ana"), "ana", role, &[Role::Admin]), Err(GrantRefused::ToOneself { role }));
        }
        assert_eq!(check_grant(Granter::User("ana"), "bob", Role::Supervisor, &[Role::Admin]), Ok(()));
        assert_eq!(check_grant(Granter::MachineOperator, "ana", Role::Supervisor, &[Role::Admin]), Ok(()));
    }

    #[test]
    fn admin_and_auditor_never_on_one_account() {
        for granter in [Granter::User("root"), Granter::MachineOperator] {
            let e = check_grant(granter, "bob", Role::Auditor, &[Role::Operator, Role::Admin]).unwrap_err();
            assert_eq!(e, GrantRefused::AdminAndAuditor { username: "bob".into(), held: Role::Admin, asked: Role::Auditor });
            assert!(e.to_string().contains("separation of duties"), "{e}");
            assert!(check_grant(granter, "bob", Role::Admin, &[Role::Auditor]).is_err());
            assert!(check_grant(granter, "bob", Role::Auditor, &[Role::Supervisor]).is_ok());
            assert!(check_grant(granter, "bob", Role::Admin, &[Role::Admin]).is_ok(), "another admin grant (e.g. other districts)");
        }
    }

    #[test]
    fn only_grants_in_force_count() {
        use citywatch_store::Store;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        store.create_user("bob", "x").unwrap();
        let now = Utc::now();
        store.add_grant("bob", Role::Admin, None, Some(now - Duration::hours(1))).unwrap();
        let spec = |role| GrantSpec { role, districts: None, expires_at: None };
        let entry = |action: &'static str| -> MakeRowAfter<'static, Grant> {
            Box::new(move |_: &Grant, head: Option<&citywatch_model::ChainHead>| {
                crate::PendingEntry::new(crate::Record::new("root", action, "bob")).row_on(head)
            })
        };
        add_grant(&store, Granter::MachineOperator, "bob", &spec(Role::Auditor), now, entry("grant.add")).expect("the admin grant has expired");
        let refused = add_grant(&store, Granter::User("root"), "bob", &spec(Role::Admin), now, entry("grant.add")).unwrap_err();
        assert!(matches!(refused, GrantError::Refused(GrantRefused::AdminAndAuditor { .. })), "{refused}");
        assert_eq!(store.grants_of("bob").unwrap().len(), 2, "the refused grant was not stored");
        assert_eq!(store.audit_entries(0, 10).unwrap().len(), 1, "one entry, for the grant made");
    }
}
