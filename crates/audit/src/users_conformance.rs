//! The conformance suite of [`UserRepo`]: what every backend must do, run
//! against each (SQLite in `users_conformance_sqlite.rs`, PostgreSQL in
//! `citywatch-store-postgres`). Built only with the `conformance` feature.
//! [`user_repo_conformance!`](crate::user_repo_conformance) makes one test
//! per case; each case gets a fresh, empty database.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use citywatch_model::{ChainHead, GrantSpec, RepoError, Role};

use crate::repo::{AuditRepo, MakeRowAfter};
use crate::users_repo::UserRepo;
use crate::{PendingEntry, Record};

/// One connection to the backend's database: its accounts and its audit
/// log, which an account change commits with.
pub struct Handles {
    pub users: Arc<dyn UserRepo>,
    pub audit: Arc<dyn AuditRepo>,
}

impl std::ops::Deref for Handles {
    type Target = dyn UserRepo;
    fn deref(&self) -> &(dyn UserRepo + 'static) {
        &*self.users
    }
}

/// A fresh, empty database of one backend.
pub trait Backend {
    /// A new handle (its own connection or pool) to the same database.
    fn connect(&self) -> Handles;
}

/// One test per case of the suite, for the backend `$fresh` makes.
#[macro_export]
macro_rules! user_repo_conformance {
    ($fresh:expr) => {
        $crate::user_repo_conformance!(@cases $fresh;
            no_users_no_grants_no_sessions_at_first,
            a_user_reads_back_with_its_grants_in_order,
            a_taken_name_is_a_conflict_and_nothing_is_written,
            grants_are_added_to_known_users_and_removed_once,
            a_new_password_ends_every_session,
            a_disabled_user_has_no_live_session,
            sessions_live_until_they_expire,
            ending_a_users_sessions_leaves_the_account,
            another_handle_ending_sessions_moves_the_marker,
            each_change_commits_with_its_entry_and_a_refused_one_writes_neither,
            password_changes_beside_logouts_all_finish,
        );
    };
    (@cases $fresh:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let backend = $fresh;
                $crate::users_conformance::$case(&backend);
            }
        )*
    };
}

const T0: i64 = 1_796_000_000; // 2026-11-30

fn at(offset_s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(T0 + offset_s, 123_456_000).single().expect("a valid time")
}

/// The entry recording a change, whatever its outcome.
fn entry<T>(action: &str, target: &str) -> MakeRowAfter<'static, T> {
    let record = Record::new("root", action, target);
    Box::new(move |_: &T, head: Option<&ChainHead>| PendingEntry::new(record).row_on(head))
}

fn actions(h: &Handles) -> Vec<String> {
    h.audit.entries(0, usize::MAX).expect("read the log").into_iter().map(|e| format!("{} {}", e.action, e.target)).collect()
}

fn spec(role: Role, districts: Option<&[&str]>, expires_at: Option<DateTime<Utc>>) -> GrantSpec {
    GrantSpec { role, districts: districts.map(|d| d.iter().map(|s| (*s).to_owned()).collect()), expires_at }
}

pub fn no_users_no_grants_no_sessions_at_first(b: &dyn Backend) {
    let u = b.connect();
    assert!(u.users().unwrap().is_empty());
    assert_eq!(u.user_count().unwrap(), 0);
    assert_eq!(u.user_credentials("ana").unwrap(), None);
    assert!(u.grants_of("ana").unwrap().is_empty());
    assert_eq!(u.session_user("0ff1ce", at(0)).unwrap(), None);
    assert!(u.open_session_counts(at(0)).unwrap().is_empty());
}

pub fn a_user_reads_back_with_its_grants_in_order(b: &dyn Backend) {
    let u = b.connect();
    let before = Utc::now() - Duration::seconds(5);
    let grants = [spec(Role::Operator, Some(&["Stari grad", "Vračar"]), Some(at(3600))), spec(Role::Dispatcher, None, None)];
    let made = u.create_user("ana", "$argon2id$v=19$hash", &grants, entry("user.create", "ana")).unwrap().0;
    assert_eq!(made.len(), 2);
    assert_ne!(made[0].id, made[1].id);
    for (m, g) in made.iter().zip(&grants) {
        assert_eq!((m.username.as_str(), m.role, &m.districts, m.expires_at), ("ana", g.role, &g.districts, g.expires_at));
    }
    assert_eq!(u.grants_of("ana").unwrap(), made, "read back exactly, in the order given");
    let users = u.users().unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!((users[0].username.as_str(), users[0].disabled, users[0].last_login_at), ("ana", false, None));
    assert!(users[0].created_at >= before && users[0].created_at <= Utc::now() + Duration::seconds(5), "{}", users[0].created_at);
    let creds = u.user_credentials("ana").unwrap().expect("known");
    assert_eq!((creds.password_hash.as_str(), creds.disabled), ("$argon2id$v=19$hash", false));
    assert_eq!(u.user_count().unwrap(), 1);
    assert_eq!(b.connect().grants_of("ana").unwrap(), made, "another connection reads the same");
}

pub fn a_taken_name_is_a_conflict_and_nothing_is_written(b: &dyn Backend) {
    let u = b.connect();
    u.create_user("ana", "h1", &[spec(Role::Operator, None, None)], entry("user.create", "ana")).unwrap();
    match u.create_user("ana", "h2", &[spec(Role::Admin, None, None)], entry("user.create", "ana")) {
        Err(RepoError::Conflict(what)) => assert!(what.contains("ana"), "{what}"),
        other => panic!("a taken name is a conflict: {other:?}"),
    }
    assert_eq!(u.user_credentials("ana").unwrap().map(|c| c.password_hash).as_deref(), Some("h1"));
    assert_eq!(u.grants_of("ana").unwrap().iter().map(|g| g.role).collect::<Vec<_>>(), vec![Role::Operator], "no grant of the refused create");
}

pub fn grants_are_added_to_known_users_and_removed_once(b: &dyn Backend) {
    let u = b.connect();
    assert!(matches!(u.add_grant("ghost", &spec(Role::Operator, None, None), entry("grant.add", "ghost")), Err(RepoError::NotFound(_))));
    u.create_user("bob", "h", &[], entry("user.create", "bob")).unwrap();
    let expired = u.add_grant("bob", &spec(Role::Admin, None, Some(at(-60))), entry("grant.add", "bob")).unwrap().0;
    let live = u.add_grant("bob", &spec(Role::Officer, Some(&["Zemun"]), None), entry("grant.add", "bob")).unwrap().0;
    assert_eq!(u.roles_held("bob", at(0)).unwrap(), vec![Role::Officer], "an expired grant gives nothing");
    assert_eq!(u.roles_held("bob", at(-120)).unwrap(), vec![Role::Admin, Role::Officer]);
    assert_eq!(u.delete_grant(expired.id, entry("grant.remove", "bob")).unwrap().0, expired, "the removed grant, for its audit entry");
    assert!(matches!(u.delete_grant(expired.id, entry("grant.remove", "bob")), Err(RepoError::NotFound(_))));
    assert_eq!(u.grants_of("bob").unwrap(), vec![live]);
}

pub fn a_new_password_ends_every_session(b: &dyn Backend) {
    let u = b.connect();
    u.create_user("ana", "old", &[], entry("user.create", "ana")).unwrap();
    u.create_user("bob", "h", &[], entry("user.create", "bob")).unwrap();
    for token in ["t1", "t2"] {
        u.create_session(token, "ana", at(3600)).unwrap();
    }
    u.create_session("t3", "bob", at(3600)).unwrap();
    assert_eq!(u.set_password_hash("ana", "new", entry("user.set_password", "ana")).unwrap().0, 2);
    assert_eq!(u.session_user("t1", at(0)).unwrap(), None);
    assert_eq!(u.session_user("t3", at(0)).unwrap().as_deref(), Some("bob"), "another user's session stays");
    assert_eq!(u.user_credentials("ana").unwrap().map(|c| c.password_hash).as_deref(), Some("new"));
    assert!(matches!(u.set_password_hash("ghost", "x", entry("user.set_password", "ghost")), Err(RepoError::NotFound(_))));
}

pub fn a_disabled_user_has_no_live_session(b: &dyn Backend) {
    let u = b.connect();
    u.create_user("ana", "h", &[], entry("user.create", "ana")).unwrap();
    u.create_session("t1", "ana", at(3600)).unwrap();
    assert_eq!(u.set_user_disabled("ana", true, entry("user.disable", "ana")).unwrap().0, 1);
    assert!(u.user_credentials("ana").unwrap().expect("known").disabled);
    // A session made while disabled (a login racing the disable) is never live.
    u.create_session("t2", "ana", at(3600)).unwrap();
    assert_eq!(u.session_user("t2", at(0)).unwrap(), None);
    assert_eq!(u.set_user_disabled("ana", false, entry("user.disable", "ana")).unwrap().0, 0, "enabling ends nothing");
    assert_eq!(u.session_user("t2", at(0)).unwrap().as_deref(), Some("ana"));
    assert!(matches!(u.set_user_disabled("ghost", true, entry("user.disable", "ghost")), Err(RepoError::NotFound(_))));
}

pub fn sessions_live_until_they_expire(b: &dyn Backend) {
    let u = b.connect();
    u.create_user("ana", "h", &[], entry("user.create", "ana")).unwrap();
    u.create_user("bob", "h", &[], entry("user.create", "bob")).unwrap();
    u.create_session("short", "ana", at(60)).unwrap();
    u.create_session("long", "ana", at(3600)).unwrap();
    u.create_session("bobs", "bob", at(3600)).unwrap();
    let login = u.users().unwrap().into_iter().find(|x| x.username == "ana").and_then(|x| x.last_login_at);
    assert!(login.is_some(), "a session is made only by a login, which is recorded");
    assert_eq!(u.session_user("short", at(59)).unwrap().as_deref(), Some("ana"));
    assert_eq!(u.session_user("short", at(60)).unwrap(), None, "expired at its expiry");
    let counts = u.open_session_counts(at(120)).unwrap();
    assert_eq!((counts.get("ana"), counts.get("bob")), (Some(&1), Some(&1)));
    assert_eq!(u.delete_expired_sessions(at(120)).unwrap(), 1);
    assert_eq!(u.delete_expired_sessions(at(120)).unwrap(), 0);
    u.delete_session("long").unwrap();
    u.delete_session("long").unwrap();
    assert_eq!(u.session_user("long", at(0)).unwrap(), None);
}

pub fn ending_a_users_sessions_leaves_the_account(b: &dyn Backend) {
    let u = b.connect();
    u.create_user("ana", "h", &[spec(Role::Operator, None, None)], entry("user.create", "ana")).unwrap();
    u.create_session("t1", "ana", at(3600)).unwrap();
    u.create_session("t2", "ana", at(3600)).unwrap();
    assert_eq!(u.end_sessions_of("ana", entry("user.end_sessions", "ana")).unwrap().0, 2);
    assert_eq!(u.end_sessions_of("ana", entry("user.end_sessions", "ana")).unwrap().0, 0);
    assert!(matches!(u.end_sessions_of("ghost", entry("user.end_sessions", "ghost")), Err(RepoError::NotFound(_))));
    let creds = u.user_credentials("ana").unwrap().expect("the account stays");
    assert!(!creds.disabled);
    assert_eq!(u.grants_of("ana").unwrap().len(), 1);
}

pub fn another_handle_ending_sessions_moves_the_marker(b: &dyn Backend) {
    let (server, cli) = (b.connect(), b.connect());
    server.create_user("ana", "h", &[], entry("user.create", "ana")).unwrap();
    server.create_session("t1", "ana", at(3600)).unwrap();
    let before = server.sessions_marker().unwrap();
    assert_eq!(server.sessions_marker().unwrap(), before, "steady while nothing is written");
    cli.set_user_disabled("ana", true, entry("user.disable", "ana")).unwrap();
    let after_disable = server.sessions_marker().unwrap();
    assert_ne!(after_disable, before, "the command line's disable is seen");
    cli.set_user_disabled("ana", false, entry("user.disable", "ana")).unwrap();
    cli.create_session("t2", "ana", at(3600)).unwrap();
    let mid = server.sessions_marker().unwrap();
    cli.end_sessions_of("ana", entry("user.end_sessions", "ana")).unwrap();
    assert_ne!(server.sessions_marker().unwrap(), mid, "and its end of sessions");
}

pub fn each_change_commits_with_its_entry_and_a_refused_one_writes_neither(b: &dyn Backend) {
    let h = b.connect();
    let seen = std::cell::Cell::new(0);
    let (grants, row) = h
        .create_user(
            "ana",
            "h",
            &[spec(Role::Operator, None, None)],
            Box::new(|made: &Vec<citywatch_model::Grant>, head: Option<&ChainHead>| {
                seen.set(made.len());
                PendingEntry::new(Record::new("root", "user.create", "ana")).row_on(head)
            }),
        )
        .unwrap();
    assert_eq!((seen.get(), grants.len(), row.seq), (1, 1, 1), "the entry is made knowing the grants given");
    let grant = h.add_grant("ana", &spec(Role::Dispatcher, None, None), entry("grant.add", "ana")).unwrap().0;
    h.delete_grant(grant.id, entry("grant.remove", "ana")).unwrap();
    h.set_password_hash("ana", "h2", entry("user.set_password", "ana")).unwrap();
    h.set_user_disabled("ana", true, entry("user.disable", "ana")).unwrap();
    h.end_sessions_of("ana", entry("user.end_sessions", "ana")).unwrap();
    // Refused changes: no entry.
    assert!(h.create_user("ana", "x", &[], entry("user.create", "ana")).is_err());
    assert!(h.delete_grant(grant.id, entry("grant.remove", "ana")).is_err());
    assert!(h.set_password_hash("ghost", "x", entry("user.set_password", "ghost")).is_err());
    let expected = ["user.create ana", "grant.add ana", "grant.remove ana", "user.set_password ana", "user.disable ana", "user.end_sessions ana"];
    assert_eq!(actions(&h), expected);
    // An entry the log refuses (it does not chain to the head) undoes its change.
    let stale = |_: &usize, _: Option<&ChainHead>| PendingEntry::new(Record::new("root", "user.enable", "ana")).row_on(None);
    assert!(h.set_user_disabled("ana", false, Box::new(stale)).is_err());
    assert!(h.user_credentials("ana").unwrap().expect("known").disabled, "still disabled: the change went with its entry");
    let stale = |_: &Vec<citywatch_model::Grant>, _: Option<&ChainHead>| PendingEntry::new(Record::new("root", "user.create", "bob")).row_on(None);
    assert!(h.create_user("bob", "h", &[spec(Role::Admin, None, None)], Box::new(stale)).is_err());
    assert_eq!(h.user_credentials("bob").unwrap(), None, "no account without its entry");
    assert!(h.grants_of("bob").unwrap().is_empty());
    assert_eq!(actions(&h).len(), expected.len());
}

/// Password changes (the user, then all its sessions) beside logouts of
/// those sessions (one session) must both finish: no deadlock between them.
pub fn password_changes_beside_logouts_all_finish(b: &dyn Backend) {
    const SESSIONS: usize = 40;
    let setup = b.connect();
    setup.create_user("ana", "h0", &[], entry("user.create", "ana")).unwrap();
    for i in 0..SESSIONS {
        setup.create_session(&format!("t{i}"), "ana", at(3600)).unwrap();
    }
    let admin = {
        let h = b.connect();
        std::thread::spawn(move || {
            for i in 0..10 {
                h.set_password_hash("ana", &format!("h{i}"), entry("user.set_password", "ana")).expect("a password change beside logouts");
            }
        })
    };
    let user = {
        let h = b.connect();
        std::thread::spawn(move || {
            for i in (0..SESSIONS).rev() {
                h.delete_session(&format!("t{i}")).expect("a logout beside a password change");
            }
        })
    };
    admin.join().expect("the admin panicked");
    user.join().expect("the user panicked");
    assert!(setup.open_session_counts(at(0)).unwrap().is_empty());
    assert_eq!(setup.audit.entries(0, usize::MAX).unwrap().len(), 11);
}
