//! Who may do what. Roles come from DESIGN.md: `admin` configures and sees
//! no video by default; `auditor` reads the audit log and nothing else.
//! A grant reaches only its districts, and only until it expires.

use std::collections::BTreeSet;

use citywatch_model::{Grant, Role, Scope, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// List, query and read cameras and districts; spatial searches.
    ReadCameras,
    /// Create, change, delete and import cameras.
    ManageCameras,
    /// Create and change districts.
    ManageDistricts,
    /// Create users, give and take grants.
    ManageUsers,
    /// Read the audit log.
    ReadAudit,
    /// Play back and export recorded video (each time with a purpose and
    /// case reference, audited).
    PlayRecordings,
    /// Place, list and release legal holds on recordings (each with a
    /// purpose and case reference, audited).
    ManageLegalHolds,
    /// Read ingest and retention metrics (`/metrics`) for the whole system.
    ReadMetrics,
    /// Watch cameras live (each subscription audited).
    ViewLive,
    /// Raise events through the API (integrations, manual reports).
    RaiseEvents,
    /// List events; plate-bearing ones only with a purpose and case
    /// reference (audited).
    ReadEvents,
    /// Create, change and delete alert rules.
    ManageRules,
    /// See alerts (list, stream, CAP export) and acknowledge, resolve or
    /// dismiss them (each step audited).
    HandleAlerts,
    /// See units with their positions, incidents, and incident exports;
    /// a unit's position trail only with a purpose and case reference (audited).
    ReadDispatch,
    /// Create incidents, add notes, see recommendations, assign units,
    /// work checklists and close incidents (audited).
    Dispatch,
    /// Create, change and delete units; register their GPS devices.
    ManageUnits,
    /// Define the per-type procedures (checklists) of incidents.
    ManageProcedures,
    /// Report a unit's status (an officer for their own unit) and read
    /// one's own assignment (the terminal).
    ReportStatus,
    /// Follow units live over the dispatch stream: those whose home
    /// district is in one's `ReadDispatch` grants, and the units one crews.
    FollowUnits,
    /// See faces unblurred in event snapshots (an unmask grant: a
    /// supervisor's, for their districts, and expiring with the grant).
    /// Everyone else sees faces pixelated; each view is audited either way.
    ViewUnmasked,
    /// Let one named user see faces unblurred in the live video and
    /// snapshots of cameras in one's districts, until an expiry (at most
    /// 12 h), with a purpose and case reference; revoke such grants.
    GrantUnmask,
    /// List unmask grants (supervisors for their districts; auditors).
    ReadUnmaskGrants,
    /// Import, list and delete entries of hotlists that are not covert.
    ManageHotlists,
    /// Also see, import into and change covert hotlists (a supervisor's
    /// decision; admins configure but never see them).
    ManageCovertHotlists,
    /// Search plate history (each time with a purpose and case reference,
    /// audited).
    SearchPlates,
    /// Read, for one's districts, the day's sensitive reads by others
    /// (playbacks, exports, plate searches, trail reads, unmasked views)
    /// with who, when, purpose and case reference, without reading the
    /// whole audit log (each such reading audited).
    OverseeSensitiveReads,
}

impl Permission {
    /// Every permission, in declaration order: what `/api/v1/me` lists.
    pub const ALL: [Permission; 26] = [
        Permission::ReadCameras,
        Permission::ManageCameras,
        Permission::ManageDistricts,
        Permission::ManageUsers,
        Permission::ReadAudit,
        Permission::PlayRecordings,
        Permission::ManageLegalHolds,
        Permission::ReadMetrics,
        Permission::ViewLive,
        Permission::RaiseEvents,
        Permission::ReadEvents,
        Permission::ManageRules,
        Permission::HandleAlerts,
        Permission::ReadDispatch,
        Permission::Dispatch,
        Permission::ManageUnits,
        Permission::ManageProcedures,
        Permission::ReportStatus,
        Permission::FollowUnits,
        Permission::ViewUnmasked,
        Permission::GrantUnmask,
        Permission::ReadUnmaskGrants,
        Permission::ManageHotlists,
        Permission::ManageCovertHotlists,
        Permission::SearchPlates,
        Permission::OverseeSensitiveReads,
    ];

    /// The name clients see (the console builds its views from these).
    /// The match has no wildcard, so a new permission must be named here.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ReadCameras => "read_cameras",
            Permission::ManageCameras => "manage_cameras",
            Permission::ManageDistricts => "manage_districts",
            Permission::ManageUsers => "manage_users",
            Permission::ReadAudit => "read_audit",
            Permission::PlayRecordings => "play_recordings",
            Permission::ManageLegalHolds => "manage_legal_holds",
            Permission::ReadMetrics => "read_metrics",
            Permission::ViewLive => "view_live",
            Permission::RaiseEvents => "raise_events",
            Permission::ReadEvents => "read_events",
            Permission::ManageRules => "manage_rules",
            Permission::HandleAlerts => "handle_alerts",
            Permission::ReadDispatch => "read_dispatch",
            Permission::Dispatch => "dispatch",
            Permission::ManageUnits => "manage_units",
            Permission::ManageProcedures => "manage_procedures",
            Permission::ReportStatus => "report_status",
            Permission::FollowUnits => "follow_units",
            Permission::ViewUnmasked => "view_unmasked",
            Permission::GrantUnmask => "grant_unmask",
            Permission::ReadUnmaskGrants => "read_unmask_grants",
            Permission::ManageHotlists => "manage_hotlists",
            Permission::ManageCovertHotlists => "manage_covert_hotlists",
            Permission::SearchPlates => "search_plates",
            Permission::OverseeSensitiveReads => "oversee_sensitive_reads",
        }
    }

    pub fn roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            Permission::ReadCameras => &[Admin, Supervisor, Operator, Dispatcher, Officer],
            Permission::ManageCameras => &[Admin],
            Permission::ManageDistricts => &[Admin],
            Permission::ManageUsers => &[Admin],
            Permission::ReadAudit => &[Auditor],
            Permission::PlayRecordings => &[Supervisor, Operator],
            Permission::ManageLegalHolds => &[Supervisor],
            Permission::ReadMetrics => &[Admin, Supervisor],
            Permission::ViewLive => &[Supervisor, Operator, Dispatcher, Officer],
            Permission::ReadDispatch => &[Supervisor, Operator, Dispatcher],
            Permission::Dispatch => &[Supervisor, Dispatcher],
            Permission::ManageUnits => &[Admin],
            Permission::ManageProcedures => &[Admin, Supervisor],
            Permission::ReportStatus => &[Supervisor, Dispatcher, Officer],
            Permission::FollowUnits => &[Supervisor, Operator, Dispatcher, Officer],
            Permission::ViewUnmasked => &[Supervisor],
            Permission::GrantUnmask => &[Supervisor],
            Permission::ReadUnmaskGrants => &[Supervisor, Auditor],
            Permission::RaiseEvents => &[Admin, Supervisor, Operator, Dispatcher],
            Permission::ReadEvents => &[Supervisor, Operator, Dispatcher],
            Permission::ManageRules => &[Admin, Supervisor],
            Permission::HandleAlerts => &[Supervisor, Operator, Dispatcher],
            Permission::ManageHotlists => &[Admin, Supervisor],
            Permission::ManageCovertHotlists => &[Supervisor],
            Permission::SearchPlates => &[Supervisor, Operator],
            Permission::OverseeSensitiveReads => &[Supervisor],
        }
    }
}

/// An authenticated user with the grants in force at the time of the request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub username: String,
    grants: Vec<Grant>,
}

impl Principal {
    /// Keeps only the grants in force at `now`.
    pub fn new(username: String, grants: Vec<Grant>, now: Timestamp) -> Principal {
        Principal { username, grants: grants.into_iter().filter(|g| g.is_active(now)).collect() }
    }

    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    pub fn roles(&self) -> BTreeSet<Role> {
        self.grants.iter().map(|g| g.role).collect()
    }

    /// The districts where the user holds `permission`, or `None` if nowhere.
    pub fn scope(&self, permission: Permission) -> Option<Scope> {
        let mut districts = BTreeSet::new();
        let mut any = false;
        for g in self.grants.iter().filter(|g| permission.roles().contains(&g.role)) {
            any = true;
            match &g.districts {
                None => return Some(Scope::All),
                Some(list) => districts.extend(list.iter().cloned()),
            }
        }
        any.then_some(Scope::Districts(districts))
    }

    pub fn may(&self, permission: Permission) -> bool {
        self.scope(permission).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};

    fn grant(role: Role, districts: Option<&[&str]>, expires_in: Option<i64>) -> Grant {
        Grant {
            id: 0,
            username: "u".into(),
            role,
            districts: districts.map(|d| d.iter().map(|s| s.to_string()).collect()),
            expires_at: expires_in.map(|s| Utc::now() + Duration::seconds(s)),
        }
    }

    #[test]
    fn scopes_union_and_expiry() {
        let p = Principal::new(
            "u".into(),
            vec![grant(Role::Operator, Some(&["A"]), None), grant(Role::Dispatcher, Some(&["B"]), Some(3600)), grant(Role::Operator, Some(&["C"]), Some(-1))],
            Utc::now(),
        );
        let scope = p.scope(Permission::ReadCameras).unwrap();
        assert!(scope.covers(Some("A")) && scope.covers(Some("B")));
        assert!(!scope.covers(Some("C")), "expired grant must not count");
        assert!(!scope.covers(None));
        assert!(!p.may(Permission::ManageCameras));
        assert!(!p.may(Permission::ReadAudit));
    }

    #[test]
    fn every_permission_is_listed_once_with_its_own_name() {
        let names: BTreeSet<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(names.len(), Permission::ALL.len());
    }

    #[test]
    fn auditor_reads_only_the_log() {
        let p = Principal::new("a".into(), vec![grant(Role::Auditor, None, None)], Utc::now());
        assert!(p.may(Permission::ReadAudit));
        assert!(!p.may(Permission::ReadCameras));
        assert!(!p.may(Permission::ManageUsers));
    }
}
