//! The conformance suite of [`AccessRepo`]: what every backend must do, run
//! against each of them (SQLite in `conformance_sqlite.rs`, PostgreSQL in
//! `citywatch-store-postgres`). Built only with the `conformance` feature,
//! which only tests enable.
//!
//! Each case takes a [`Backend`] holding a fresh, empty database and opens
//! as many handles to it as it needs (two handles are two connections, as
//! two nodes, or a server and the CLI, would have).
//! [`access_repo_conformance!`](crate::access_repo_conformance) makes one
//! test per case.

use std::sync::{Arc, Barrier};

use chrono::{DateTime, TimeZone, Utc};
use citywatch_audit::{AuditRepo, MakeRowAfter, PendingEntry, Record};
use citywatch_model::{AuditRow, ChainHead, LegalHold, NewLegalHold, NewUnmaskGrant, RepoError, UnmaskGrant};
use serde_json::json;

use crate::repo::AccessRepo;

/// One connection to the backend's database: its grants and holds, and
/// the audit log each change commits with.
pub struct Handles {
    pub access: Arc<dyn AccessRepo>,
    pub audit: Arc<dyn AuditRepo>,
}

/// A fresh, empty database of one backend.
pub trait Backend {
    /// A new handle (its own connection or pool) to the same database.
    fn connect(&self) -> Handles;
}

/// One test per case of the suite, for the backend `$fresh` makes (an
/// expression evaluated anew for each test, giving a [`Backend`]).
#[macro_export]
macro_rules! access_repo_conformance {
    ($fresh:expr) => {
        $crate::access_repo_conformance!(@cases $fresh;
            nothing_is_granted_or_held_at_first,
            a_grant_reads_back_as_created_with_an_entry_naming_its_id,
            only_unrevoked_unexpired_grants_of_the_grantee_are_in_force,
            a_revoked_grant_is_kept_naming_who_ended_it,
            revoking_an_unknown_grant_is_not_found_and_writes_nothing,
            revoking_twice_is_stale_and_writes_one_entry,
            a_hold_reads_back_as_placed_and_is_active_until_it_expires,
            releasing_an_unknown_or_released_hold_is_not_found_and_writes_nothing,
            a_change_whose_audit_row_is_refused_is_not_made,
            a_grant_or_hold_the_schema_refuses_writes_nothing,
            two_revokes_at_once_make_one_revocation_and_one_chain,
            grants_and_holds_made_at_once_make_one_chain,
        );
    };
    (@cases $fresh:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let backend = $fresh;
                $crate::conformance::$case(&backend);
            }
        )*
    };
}

const T0: i64 = 1_796_000_000; // 2026-11-30

/// A time `offset_s` from the suite's epoch, to the microsecond (what
/// every backend keeps).
fn at(offset_s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(T0 + offset_s, 123_456_000).single().expect("a valid time")
}

/// The entry recording a change, naming the id the change gave.
fn entry<T: HasId>(actor: &str, action: &str) -> MakeRowAfter<'static, T> {
    let (actor, action) = (actor.to_owned(), action.to_owned());
    Box::new(move |made: &T, head: Option<&ChainHead>| {
        PendingEntry::new(Record::new(actor, action, made.id().to_string()).detail(json!({"id": made.id()}))).row_on(head)
    })
}

/// An entry that does not chain to the head it is given (a writer holding
/// an old head): every backend refuses it, and the change with it.
fn stale<T>() -> MakeRowAfter<'static, T> {
    Box::new(|_: &T, _: Option<&ChainHead>| PendingEntry::new(Record::new("ana", "stale", "x")).row_on(None))
}

trait HasId {
    fn id(&self) -> i64;
}

impl HasId for UnmaskGrant {
    fn id(&self) -> i64 {
        self.id
    }
}

impl HasId for LegalHold {
    fn id(&self) -> i64 {
        self.id
    }
}

/// `action target` of every entry, in order.
fn actions(h: &Handles) -> Vec<String> {
    h.audit.entries(0, usize::MAX).expect("read the log").into_iter().map(|e| format!("{} {}", e.action, e.target)).collect()
}

fn assert_one_chain(rows: &[AuditRow]) {
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.seq, i as i64 + 1, "seqs run 1..n without a gap");
        if i > 0 {
            assert_eq!(row.prev_hash, rows[i - 1].hash, "seq {} chains to the row before it", row.seq);
        }
    }
}

/// A grant with non-ASCII text, expiring `expires_in_s` after [`at`]`(0)`.
fn grant(grantee: &str, expires_in_s: i64) -> NewUnmaskGrant {
    NewUnmaskGrant {
        grantee: grantee.into(),
        cameras: vec!["knez-2".into(), "knez-1".into(), "ћирилица-3".into()],
        purpose: "оружана пљачка у току — armed robbery".into(),
        case_ref: "INC-2026-0042".into(),
        created_by: "sup".into(),
        expires_at: at(expires_in_s),
    }
}

fn hold(camera: &str, expires_in_s: i64) -> NewLegalHold {
    NewLegalHold {
        camera_id: camera.into(),
        start_90k: 900_000,
        end_90k: 1_800_000,
        purpose: "istraga — čuvati snimke".into(),
        case_ref: "KT-77/26".into(),
        created_by: "sup".into(),
        expires_at: at(expires_in_s),
    }
}

pub fn nothing_is_granted_or_held_at_first(b: &dyn Backend) {
    let h = b.connect();
    assert!(h.access.unmask_grants().unwrap().is_empty());
    assert_eq!(h.access.unmask_grant(1).unwrap(), None);
    assert!(h.access.active_unmask_grants_of("officer", at(0)).unwrap().is_empty());
    assert!(h.access.legal_holds().unwrap().is_empty());
    assert_eq!(h.access.legal_hold(1).unwrap(), None);
    assert!(h.access.active_legal_holds(at(0)).unwrap().is_empty());
}

pub fn a_grant_reads_back_as_created_with_an_entry_naming_its_id(b: &dyn Backend) {
    let h = b.connect();
    let new = grant("officer", 3600);
    let (made, row) = h.access.create_unmask_grant(&new, at(0), entry("sup", "unmask_grant.create")).unwrap();
    let expected = UnmaskGrant {
        id: made.id,
        grantee: new.grantee.clone(),
        cameras: new.cameras.clone(),
        purpose: new.purpose.clone(),
        case_ref: new.case_ref.clone(),
        created_by: "sup".into(),
        created_at: at(0),
        expires_at: at(3600),
        revoked_at: None,
        revoked_by: None,
    };
    assert_eq!(made, expected, "cameras keep their order, text and times read back as given");
    assert_eq!(h.access.unmask_grant(made.id).unwrap(), Some(expected.clone()));
    assert_eq!(h.access.unmask_grants().unwrap(), vec![expected]);
    assert_eq!((row.seq, row.action.as_str(), row.target.clone()), (1, "unmask_grant.create", made.id.to_string()));
    let entries = h.audit.entries(0, usize::MAX).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].detail["id"], json!(made.id), "the entry names the id the insert gave");
}

pub fn only_unrevoked_unexpired_grants_of_the_grantee_are_in_force(b: &dyn Backend) {
    let h = b.connect();
    let create = |g: NewUnmaskGrant| h.access.create_unmask_grant(&g, at(0), entry("sup", "unmask_grant.create")).unwrap().0;
    let expired = create(grant("officer", -60));
    let first = create(grant("officer", 3600));
    let other = create(grant("someone", 3600));
    let second = create(grant("officer", 7200));
    let ids = |gs: Vec<UnmaskGrant>| gs.into_iter().map(|g| g.id).collect::<Vec<_>>();
    assert_eq!(ids(h.access.unmask_grants().unwrap()), vec![second.id, other.id, first.id, expired.id], "every grant, newest first");
    assert_eq!(ids(h.access.active_unmask_grants_of("officer", at(0)).unwrap()), vec![first.id, second.id], "in force: oldest first");
    assert_eq!(ids(h.access.active_unmask_grants_of("officer", at(3600)).unwrap()), vec![second.id], "a grant ends at its expiry");
    assert!(h.access.active_unmask_grants_of("officer", at(7200)).unwrap().is_empty());
    assert!(h.access.active_unmask_grants_of("nobody", at(0)).unwrap().is_empty());
    assert!(!h.access.unmask_grant(expired.id).unwrap().unwrap().is_active(at(0)));
}

pub fn a_revoked_grant_is_kept_naming_who_ended_it(b: &dyn Backend) {
    let h = b.connect();
    let live = h.access.create_unmask_grant(&grant("officer", 3600), at(0), entry("sup", "unmask_grant.create")).unwrap().0;
    let expired = h.access.create_unmask_grant(&grant("officer", -60), at(0), entry("sup", "unmask_grant.create")).unwrap().0;
    let (revoked, row) = h.access.revoke_unmask_grant(live.id, "chief", at(10), entry("chief", "unmask_grant.revoke")).unwrap();
    assert_eq!(revoked, UnmaskGrant { revoked_at: Some(at(10)), revoked_by: Some("chief".into()), ..live.clone() });
    assert_eq!(h.access.unmask_grant(live.id).unwrap(), Some(revoked));
    assert_eq!((row.seq, row.actor.as_str()), (3, "chief"));
    assert!(h.access.active_unmask_grants_of("officer", at(10)).unwrap().is_empty(), "a revoked grant is no longer in force");
    assert_eq!(h.access.unmask_grants().unwrap().len(), 2, "and still listed");
    // An expired grant may still be revoked: the list then says who ended it.
    let ended = h.access.revoke_unmask_grant(expired.id, "chief", at(20), entry("chief", "unmask_grant.revoke")).unwrap().0;
    assert_eq!(ended.revoked_by.as_deref(), Some("chief"));
    let (l, e) = (live.id, expired.id);
    assert_eq!(
        actions(&h),
        vec![format!("unmask_grant.create {l}"), format!("unmask_grant.create {e}"), format!("unmask_grant.revoke {l}"), format!("unmask_grant.revoke {e}")]
    );
}

pub fn revoking_an_unknown_grant_is_not_found_and_writes_nothing(b: &dyn Backend) {
    let h = b.connect();
    let refused = h.access.revoke_unmask_grant(42, "chief", at(0), entry("chief", "unmask_grant.revoke"));
    assert!(matches!(refused, Err(RepoError::NotFound(_))), "{refused:?}");
    assert!(actions(&h).is_empty());
    assert!(h.access.unmask_grants().unwrap().is_empty());
}

pub fn revoking_twice_is_stale_and_writes_one_entry(b: &dyn Backend) {
    let h = b.connect();
    let g = h.access.create_unmask_grant(&grant("officer", 3600), at(0), entry("sup", "unmask_grant.create")).unwrap().0;
    let first = h.access.revoke_unmask_grant(g.id, "sup", at(10), entry("sup", "unmask_grant.revoke")).unwrap().0;
    let again = h.access.revoke_unmask_grant(g.id, "chief", at(20), entry("chief", "unmask_grant.revoke"));
    match again {
        Err(RepoError::Stale(why)) => assert_eq!(why, format!("unmask grant {} was already revoked", g.id)),
        other => panic!("a second revoke must be Stale, got {other:?}"),
    }
    assert_eq!(h.access.unmask_grant(g.id).unwrap(), Some(first), "the first revocation stands: who and when");
    assert_eq!(actions(&h), vec![format!("unmask_grant.create {}", g.id), format!("unmask_grant.revoke {}", g.id)]);
}

pub fn a_hold_reads_back_as_placed_and_is_active_until_it_expires(b: &dyn Backend) {
    let h = b.connect();
    let new = hold("knez-1", 86_400);
    let (placed, row) = h.access.place_legal_hold(&new, at(0), entry("sup", "legal_hold.create")).unwrap();
    let expected = LegalHold {
        id: placed.id,
        camera_id: "knez-1".into(),
        start_90k: 900_000,
        end_90k: 1_800_000,
        purpose: new.purpose.clone(),
        case_ref: new.case_ref.clone(),
        created_by: "sup".into(),
        created_at: at(0),
        expires_at: at(86_400),
    };
    assert_eq!(placed, expected);
    assert_eq!((row.seq, row.target.clone()), (1, placed.id.to_string()), "the entry names the id the insert gave");
    assert_eq!(h.access.legal_hold(placed.id).unwrap(), Some(expected.clone()));
    let expired = h.access.place_legal_hold(&hold("knez-2", -60), at(0), entry("sup", "legal_hold.create")).unwrap().0;
    let later = h.access.place_legal_hold(&hold("knez-3", 3600), at(0), entry("sup", "legal_hold.create")).unwrap().0;
    let ids = |hs: Vec<LegalHold>| hs.into_iter().map(|h| h.id).collect::<Vec<_>>();
    assert_eq!(ids(h.access.legal_holds().unwrap()), vec![later.id, expired.id, placed.id], "every hold, newest first");
    assert_eq!(ids(h.access.active_legal_holds(at(0)).unwrap()), vec![placed.id, later.id], "active: oldest first");
    assert_eq!(ids(h.access.active_legal_holds(at(3600)).unwrap()), vec![placed.id], "a hold ends at its expiry");
    assert!(h.access.active_legal_holds(at(86_400)).unwrap().is_empty());
    assert_eq!(actions(&h).len(), 3);
}

pub fn releasing_an_unknown_or_released_hold_is_not_found_and_writes_nothing(b: &dyn Backend) {
    let h = b.connect();
    let refused = h.access.release_legal_hold(42, entry("sup", "legal_hold.release"));
    assert!(matches!(refused, Err(RepoError::NotFound(_))), "{refused:?}");
    let placed = h.access.place_legal_hold(&hold("knez-1", 3600), at(0), entry("sup", "legal_hold.create")).unwrap().0;
    let (released, row) = h.access.release_legal_hold(placed.id, entry("chief", "legal_hold.release")).unwrap();
    assert_eq!(released, placed, "the entry is made from the hold as it was");
    assert_eq!((row.seq, row.actor.as_str()), (2, "chief"));
    assert_eq!(h.access.legal_hold(placed.id).unwrap(), None);
    assert!(h.access.legal_holds().unwrap().is_empty(), "a released hold is gone; the log keeps what it was");
    let again = h.access.release_legal_hold(placed.id, entry("chief", "legal_hold.release"));
    assert!(matches!(again, Err(RepoError::NotFound(_))), "{again:?}");
    assert_eq!(actions(&h), vec![format!("legal_hold.create {}", placed.id), format!("legal_hold.release {}", placed.id)]);
}

pub fn a_change_whose_audit_row_is_refused_is_not_made(b: &dyn Backend) {
    let h = b.connect();
    let g = h.access.create_unmask_grant(&grant("officer", 3600), at(0), entry("sup", "unmask_grant.create")).unwrap().0;
    let held = h.access.place_legal_hold(&hold("knez-1", 3600), at(0), entry("sup", "legal_hold.create")).unwrap().0;
    assert!(h.access.create_unmask_grant(&grant("officer", 3600), at(0), stale()).is_err());
    assert_eq!(h.access.unmask_grants().unwrap().len(), 1, "no grant without its entry");
    assert!(h.access.revoke_unmask_grant(g.id, "sup", at(10), stale()).is_err());
    assert_eq!(h.access.unmask_grant(g.id).unwrap(), Some(g), "not revoked without its entry");
    assert!(h.access.place_legal_hold(&hold("knez-2", 3600), at(0), stale()).is_err());
    assert_eq!(h.access.legal_holds().unwrap().len(), 1, "no hold without its entry");
    assert!(h.access.release_legal_hold(held.id, stale()).is_err());
    assert_eq!(h.access.legal_hold(held.id).unwrap(), Some(held), "not released without its entry");
    assert_eq!(actions(&h).len(), 2);
    // The refused writes left the chain usable.
    h.access.create_unmask_grant(&grant("officer", 3600), at(0), entry("sup", "unmask_grant.create")).unwrap();
    assert_one_chain(&h.audit.rows(0, usize::MAX).unwrap());
}

pub fn a_grant_or_hold_the_schema_refuses_writes_nothing(b: &dyn Backend) {
    let h = b.connect();
    // The rules refuse these first; the schema is the last line, for any
    // other writer of the database.
    assert!(h.access.create_unmask_grant(&NewUnmaskGrant { purpose: String::new(), ..grant("officer", 3600) }, at(0), entry("sup", "x")).is_err());
    assert!(h.access.create_unmask_grant(&NewUnmaskGrant { case_ref: String::new(), ..grant("officer", 3600) }, at(0), entry("sup", "x")).is_err());
    assert!(h.access.place_legal_hold(&NewLegalHold { purpose: String::new(), ..hold("knez-1", 3600) }, at(0), entry("sup", "x")).is_err());
    assert!(h.access.place_legal_hold(&NewLegalHold { end_90k: 900_000, ..hold("knez-1", 3600) }, at(0), entry("sup", "x")).is_err(), "an empty range");
    assert!(h.access.unmask_grants().unwrap().is_empty());
    assert!(h.access.legal_holds().unwrap().is_empty());
    assert!(actions(&h).is_empty());
}

/// Two supervisors revoke one grant at the same moment, on two
/// connections: one revocation is made and audited, the other is told it
/// came too late; the log stays one chain.
pub fn two_revokes_at_once_make_one_revocation_and_one_chain(b: &dyn Backend) {
    const ROUNDS: usize = 10;
    let setup = b.connect();
    let ids: Vec<i64> =
        (0..ROUNDS).map(|_| setup.access.create_unmask_grant(&grant("officer", 3600), at(0), entry("sup", "unmask_grant.create")).unwrap().0.id).collect();
    let start = Arc::new(Barrier::new(2));
    let revokers: Vec<_> = ["ana", "bob"]
        .into_iter()
        .map(|who| {
            let (h, ids, start) = (b.connect(), ids.clone(), start.clone());
            std::thread::spawn(move || {
                ids.iter()
                    .map(|id| {
                        start.wait();
                        match h.access.revoke_unmask_grant(*id, who, at(10), entry(who, "unmask_grant.revoke")) {
                            Ok((g, _)) => Some(g.revoked_by.expect("revoked by someone")),
                            Err(RepoError::Stale(_)) => None,
                            Err(e) => panic!("{who} revoking grant {id}: {e}"),
                        }
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let outcomes: Vec<Vec<Option<String>>> = revokers.into_iter().map(|r| r.join().expect("a revoker panicked")).collect();
    for (round, id) in ids.iter().enumerate() {
        let winners: Vec<&String> = outcomes.iter().filter_map(|o| o[round].as_ref()).collect();
        assert_eq!(winners.len(), 1, "grant {id}: exactly one revoke wins");
        let stored = setup.access.unmask_grant(*id).unwrap().unwrap();
        assert_eq!(stored.revoked_by.as_ref(), Some(winners[0]), "the stored revocation is the winner's");
    }
    let rows = setup.audit.rows(0, usize::MAX).unwrap();
    assert_eq!(rows.iter().filter(|r| r.action == "unmask_grant.revoke").count(), ROUNDS, "one entry per revocation");
    assert_eq!(rows.len(), 2 * ROUNDS);
    assert_one_chain(&rows);
}

/// Grants and holds made from two connections at once: every one is
/// stored with its own entry, in one chain.
pub fn grants_and_holds_made_at_once_make_one_chain(b: &dyn Backend) {
    const EACH: usize = 20;
    let writers: Vec<_> = ["ana", "bob"]
        .into_iter()
        .map(|who| {
            let h = b.connect();
            std::thread::spawn(move || {
                for i in 0..EACH {
                    h.access.create_unmask_grant(&grant(who, 3600), at(0), entry(who, "unmask_grant.create")).expect("a grant under contention");
                    h.access.place_legal_hold(&hold(&format!("{who}-{i}"), 3600), at(0), entry(who, "legal_hold.create")).expect("a hold under contention");
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("a writer panicked");
    }
    let h = b.connect();
    assert_eq!(h.access.unmask_grants().unwrap().len(), 2 * EACH);
    assert_eq!(h.access.legal_holds().unwrap().len(), 2 * EACH);
    let rows = h.audit.rows(0, usize::MAX).unwrap();
    assert_eq!(rows.len(), 4 * EACH, "one entry per change");
    assert_one_chain(&rows);
}
