use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// Roles from DESIGN.md, "Accountability by construction". What each may do
/// is decided in `citywatch-audit`'s policy, not here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Supervisor,
    Operator,
    Dispatcher,
    Officer,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 6] = [Role::Admin, Role::Supervisor, Role::Operator, Role::Dispatcher, Role::Officer, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Operator => "operator",
            Role::Dispatcher => "dispatcher",
            Role::Officer => "officer",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub username: String,
    pub disabled: bool,
    pub created_at: Timestamp,
    /// When the user last logged in successfully; `None`: never (or
    /// before this was recorded).
    #[serde(default)]
    pub last_login_at: Option<Timestamp>,
}

/// One role given to one user, scoped to districts (`None` means every
/// district) and optionally ending at `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Grant {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub districts: Option<Vec<String>>,
    pub expires_at: Option<Timestamp>,
}

impl Grant {
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.expires_at.is_none_or(|t| now < t)
    }

    /// Whether this grant reaches a camera in `district`. A camera with no
    /// district is reachable only by grants over all districts.
    pub fn covers_district(&self, district: Option<&str>) -> bool {
        match (&self.districts, district) {
            (None, _) => true,
            (Some(list), Some(d)) => list.iter().any(|x| x == d),
            (Some(_), None) => false,
        }
    }
}

/// A grant about to be stored: the role, the districts it reaches (None:
/// all) and when it ends (None: never). The store gives it its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantSpec {
    pub role: Role,
    pub districts: Option<Vec<String>>,
    pub expires_at: Option<Timestamp>,
}

/// What login needs to know of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCredentials {
    pub password_hash: String,
    pub disabled: bool,
}
