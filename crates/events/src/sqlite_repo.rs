//! [`EventRepo`] on the embedded SQLite database: `Store` keeps the SQL,
//! this only states that it is the events' repository.

use citywatch_audit::MakeRowAfter;
use citywatch_model::event::{AlertChange, EventFilter};
use citywatch_model::{Alert, AlertState, AuditRow, Event, RepoError, Rule, RuleSpec, Timestamp};
use citywatch_store::Store;

use crate::repo::EventRepo;

impl EventRepo for Store {
    fn insert_events(&self, events: &mut [Event]) -> Result<(), RepoError> {
        Ok(Store::insert_events(self, events)?)
    }

    fn events(&self, filter: &EventFilter) -> Result<Vec<Event>, RepoError> {
        Ok(Store::events(self, filter)?)
    }

    fn event(&self, id: i64) -> Result<Option<Event>, RepoError> {
        Ok(Store::event(self, id)?)
    }

    fn count_events_since(&self, districts: Option<&[String]>, since: Timestamp) -> Result<u64, RepoError> {
        Ok(Store::count_events_since(self, districts, since)?)
    }

    fn count_alerts_since(&self, districts: Option<&[String]>, since: Timestamp) -> Result<u64, RepoError> {
        Ok(Store::count_alerts_since(self, districts, since)?)
    }

    fn rules(&self) -> Result<Vec<Rule>, RepoError> {
        Ok(Store::rules(self)?)
    }

    fn add_rule(&self, spec: &RuleSpec, by: &str, now: Timestamp, audit: MakeRowAfter<'_, Rule>) -> Result<(Rule, AuditRow), RepoError> {
        Ok(self.add_rule_audited(spec, by, now, audit)?)
    }

    fn replace_rule(&self, id: i64, spec: &RuleSpec, now: Timestamp, audit: MakeRowAfter<'_, Rule>) -> Result<(Rule, AuditRow), RepoError> {
        Ok(self.replace_rule_audited(id, spec, now, audit)?)
    }

    fn delete_rule(&self, id: i64, audit: MakeRowAfter<'_, Rule>) -> Result<(Rule, AuditRow), RepoError> {
        Ok(self.delete_rule_audited(id, audit)?)
    }

    fn open_alerts_of_rule(&self, rule_id: i64, since: Timestamp) -> Result<Vec<Alert>, RepoError> {
        Ok(Store::open_alerts_of_rule(self, rule_id, since)?)
    }

    fn apply_alert_changes(&self, changes: &[AlertChange]) -> Result<Vec<(Alert, bool)>, RepoError> {
        Ok(Store::apply_alert_changes(self, changes)?)
    }

    fn alert(&self, id: i64) -> Result<Option<Alert>, RepoError> {
        Ok(Store::alert(self, id)?)
    }

    fn alerts(&self, state: Option<AlertState>, districts: Option<&[String]>, before_id: Option<i64>, limit: usize) -> Result<Vec<Alert>, RepoError> {
        Ok(Store::alerts(self, state, districts, before_id, limit)?)
    }

    fn alert_event_ids(&self, alert_id: i64) -> Result<Vec<i64>, RepoError> {
        Ok(Store::alert_event_ids(self, alert_id)?)
    }

    fn transition_alert(
        &self,
        id: i64,
        from: AlertState,
        to: AlertState,
        by: &str,
        at: Timestamp,
        audit: MakeRowAfter<'_, Alert>,
    ) -> Result<(Alert, AuditRow), RepoError> {
        Ok(self.transition_alert_audited(id, from, to, by, at, audit)?)
    }
}
