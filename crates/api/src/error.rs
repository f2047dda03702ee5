//! Every error a route can return, and the one place that maps each to an
//! HTTP status. Bodies are `{"error": "...", "fields": [...]}` where
//! `fields` names each bad field and why.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use citywatch_model::FieldError;
use serde_json::json;

#[derive(Debug)]
pub enum ApiError {
    BadRequest(String),
    Invalid {
        message: String,
        fields: Vec<FieldError>,
    },
    Unauthorized(String),
    Forbidden(String),
    NotFound(String),
    Conflict(String),
    /// The request body is over the route's limit.
    PayloadTooLarge(String),
    TooManyRequests {
        retry_after_s: u64,
    },
    /// Overloaded for a moment: retrying later will work.
    Unavailable(String),
    Internal(String),
}

impl ApiError {
    pub fn invalid(fields: Vec<FieldError>) -> ApiError {
        let message = fields.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
        ApiError::Invalid { message, fields }
    }

    pub fn field(field: &str, reason: impl Into<String>) -> ApiError {
        ApiError::invalid(vec![FieldError::new(field, reason)])
    }
}

/// A repository's failure, whichever database is behind it. A database
/// that cannot be reached is a 503 that says to retry: nothing was written.
impl From<citywatch_model::RepoError> for ApiError {
    fn from(e: citywatch_model::RepoError) -> ApiError {
        use citywatch_model::RepoError::*;
        match e {
            Conflict(what) => ApiError::Conflict(format!("{what} already exists")),
            NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            Stale(why) => ApiError::Conflict(why),
            Unavailable(why) => ApiError::Unavailable(format!("the database is unavailable ({why}); try again in a moment")),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<citywatch_audit::AuditError> for ApiError {
    fn from(e: citywatch_audit::AuditError) -> ApiError {
        match e {
            citywatch_audit::AuditError::Repo(citywatch_model::RepoError::Unavailable(why)) => {
                ApiError::Unavailable(format!("the audit log's database is unavailable ({why}); nothing was done, try again in a moment"))
            }
            e => ApiError::Internal(format!("audit log: {e}")),
        }
    }
}

impl From<citywatch_registry::RegistryError> for ApiError {
    fn from(e: citywatch_registry::RegistryError) -> ApiError {
        use citywatch_registry::RegistryError::*;
        match e {
            Repo(e) => e.into(),
            NotFound(id) => ApiError::NotFound(format!("camera {id} not found")),
            Conflict(id) => ApiError::Conflict(format!("camera {id} already exists; use PUT /api/v1/cameras/{id} to change it")),
            OutOfScope(reason) => ApiError::Forbidden(reason),
            Audit(e) => e.into(),
        }
    }
}

impl From<citywatch_geo::GeoError> for ApiError {
    fn from(e: citywatch_geo::GeoError) -> ApiError {
        ApiError::BadRequest(e.to_string())
    }
}

impl From<citywatch_events::EventsError> for ApiError {
    fn from(e: citywatch_events::EventsError) -> ApiError {
        use citywatch_events::EventsError::*;
        match e {
            Invalid(fields) => ApiError::invalid(fields),
            NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            Conflict(why) => ApiError::Conflict(why),
            Busy => ApiError::Unavailable("event ingest is overloaded; retry shortly".into()),
            Closed => ApiError::Internal("event ingest has stopped".into()),
            Repo(e) => e.into(),
        }
    }
}

impl From<citywatch_dispatch::DispatchError> for ApiError {
    fn from(e: citywatch_dispatch::DispatchError) -> ApiError {
        use citywatch_dispatch::DispatchError::*;
        match e {
            Invalid(fields) => ApiError::invalid(fields),
            NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            Conflict(m) => ApiError::Conflict(m),
            Forbidden(m) => ApiError::Forbidden(m),
            Repo(e) => e.into(),
            Audit(e) => e.into(),
        }
    }
}

impl From<citywatch_access::GrantRefusal> for ApiError {
    fn from(e: citywatch_access::GrantRefusal) -> ApiError {
        use citywatch_access::GrantRefusal::*;
        match e {
            Invalid(problems) => ApiError::invalid(problems.into_iter().map(FieldError::from).collect()),
            Repo(e) => e.into(),
            Geo(e) => e.into(),
        }
    }
}

impl From<citywatch_access::HoldRefusal> for ApiError {
    fn from(e: citywatch_access::HoldRefusal) -> ApiError {
        match e {
            citywatch_access::HoldRefusal::Invalid(problems) => ApiError::invalid(problems.into_iter().map(FieldError::from).collect()),
            unknown @ citywatch_access::HoldRefusal::UnknownCamera(_) => ApiError::NotFound(unknown.to_string()),
        }
    }
}

impl From<citywatch_model::ImportRefusal> for ApiError {
    fn from(e: citywatch_model::ImportRefusal) -> ApiError {
        match e {
            citywatch_model::ImportRefusal::Unusable(m) => ApiError::BadRequest(m),
            too_many @ citywatch_model::ImportRefusal::TooManyRows { .. } => ApiError::PayloadTooLarge(too_many.to_string()),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> ApiError {
        ApiError::Internal(format!("worker task failed: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, json!({"error": m})),
            ApiError::Invalid { message, fields } => (StatusCode::UNPROCESSABLE_ENTITY, json!({"error": message, "fields": fields})),
            ApiError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, json!({"error": m})),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, json!({"error": m})),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, json!({"error": m})),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, json!({"error": m})),
            ApiError::PayloadTooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, json!({"error": m})),
            ApiError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, json!({"error": m})),
            ApiError::TooManyRequests { retry_after_s } => {
                let mut r =
                    (StatusCode::TOO_MANY_REQUESTS, Json(json!({"error": format!("too many login attempts; try again in {retry_after_s} s")}))).into_response();
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
                return r;
            }
            ApiError::Internal(m) => {
                tracing::error!("internal error: {m}");
                (StatusCode::INTERNAL_SERVER_ERROR, json!({"error": format!("internal error: {m}")}))
            }
        };
        (status, Json(body)).into_response()
    }
}
