//! The events' repository: what events, rules and alerts need of a
//! database, whatever the database is.
//!
//! The events crate owns the trait because it owns the rules: ingest
//! batching, matching, correlation and the alert lifecycle are decided
//! here, and a backend only keeps rows. Two backends implement it: SQLite
//! (`Store`, in `sqlite_repo.rs`) and PostgreSQL
//! (`citywatch-store-postgres`); `conformance.rs` is the one suite both
//! pass.
//!
//! A person's change (a rule added, replaced or deleted; an alert
//! acknowledged, resolved or dismissed) commits together with the audit
//! entry that records it. The machine's writes (events, and the alerts the
//! rules open or grow) are not audited: they are observations, and the
//! event rows are their own record.
//!
//! Like [`citywatch_audit::AuditRepo`], the calls block (see
//! docs/design/storage.md).

use citywatch_audit::MakeRowAfter;
use citywatch_model::event::{AlertChange, EventFilter};
use citywatch_model::{Alert, AlertState, AuditRow, Event, RepoError, Rule, RuleSpec, Timestamp};

/// Events, rules and alerts, as stored.
pub trait EventRepo: Send + Sync {
    /// Stores a batch of events in one transaction (group commit) and sets
    /// their ids, increasing in the order given. Ids on input are ignored.
    /// All or nothing: on an error no event of the batch is stored.
    fn insert_events(&self, events: &mut [Event]) -> Result<(), RepoError>;

    /// Events matching `filter`, newest (highest id) first.
    fn events(&self, filter: &EventFilter) -> Result<Vec<Event>, RepoError>;

    /// One event; None if there is none with that id.
    fn event(&self, id: i64) -> Result<Option<Event>, RepoError>;

    /// Events whose time is at or after `since`, in these districts (`None`:
    /// all), for the health wall's rates.
    fn count_events_since(&self, districts: Option<&[String]>, since: Timestamp) -> Result<u64, RepoError>;

    /// Alerts opened at or after `since`, in these districts (`None`: all).
    fn count_alerts_since(&self, districts: Option<&[String]>, since: Timestamp) -> Result<u64, RepoError>;

    /// Every rule, by id.
    fn rules(&self) -> Result<Vec<Rule>, RepoError>;

    /// Adds a rule made by `by` with the audit entry `audit` makes of it.
    fn add_rule(&self, spec: &RuleSpec, by: &str, now: Timestamp, audit: MakeRowAfter<'_, Rule>) -> Result<(Rule, AuditRow), RepoError>;

    /// Replaces a rule's definition, with its entry; `NotFound` if there
    /// is no such rule.
    fn replace_rule(&self, id: i64, spec: &RuleSpec, now: Timestamp, audit: MakeRowAfter<'_, Rule>) -> Result<(Rule, AuditRow), RepoError>;

    /// Deletes a rule with its entry and returns it as it was; its alerts
    /// stay (they carry its name). `NotFound` if there is no such rule.
    fn delete_rule(&self, id: i64, audit: MakeRowAfter<'_, Rule>) -> Result<(Rule, AuditRow), RepoError>;

    /// Open (new or acknowledged) alerts of a rule whose last event is at
    /// or after `since`, by id: the ones a new event may join.
    fn open_alerts_of_rule(&self, rule_id: i64, since: Timestamp) -> Result<Vec<Alert>, RepoError>;

    /// Applies one batch's alert changes in one transaction and returns the
    /// alerts they touched as they now are (each once, in order of first
    /// change), each with whether this batch opened it. An event joined to
    /// an alert twice is listed among its events once.
    fn apply_alert_changes(&self, changes: &[AlertChange]) -> Result<Vec<(Alert, bool)>, RepoError>;

    /// One alert; None if there is none with that id.
    fn alert(&self, id: i64) -> Result<Option<Alert>, RepoError>;

    /// Alerts newest first, optionally in one state, in some districts
    /// (`None`: all), with an id below `before_id` (paging), at most `limit`.
    fn alerts(&self, state: Option<AlertState>, districts: Option<&[String]>, before_id: Option<i64>, limit: usize) -> Result<Vec<Alert>, RepoError>;

    /// Ids of the events grouped in an alert, oldest first.
    fn alert_event_ids(&self, alert_id: i64) -> Result<Vec<i64>, RepoError>;

    /// Moves an alert from `from` to `to` as `by` at `at` (acknowledged:
    /// who and when it was acknowledged; resolved or false alarm: who and
    /// when it was closed), with the entry `audit` makes of the alert as it
    /// now is. Only if it is still in `from`: two operators racing, one
    /// wins and the other gets `Stale`. `NotFound` if there is no such
    /// alert. A refused move writes neither the alert nor an entry.
    fn transition_alert(
        &self,
        id: i64,
        from: AlertState,
        to: AlertState,
        by: &str,
        at: Timestamp,
        audit: MakeRowAfter<'_, Alert>,
    ) -> Result<(Alert, AuditRow), RepoError>;
}
