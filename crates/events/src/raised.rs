//! Events raised from outside the server: reading one from its JSON form,
//! with every problem named by its field.

use chrono::{DateTime, Utc};
use citywatch_model::{FieldError, Location, NewEvent, Source, SourceKind};
use serde_json::{json, Map, Value};

/// Reads an event raised from outside the server (the body of `POST
/// /api/v1/events`: an integration, a manual report) by `caller`, naming
/// every bad field. A `user` source is the caller; a missing time is `now`.
/// Types only the server raises and details only it writes are refused
/// ([`NewEvent::check_raised_from_outside`]).
pub fn parse_raised(obj: &Map<String, Value>, caller: &str, now: DateTime<Utc>) -> Result<NewEvent, Vec<FieldError>> {
    const FIELDS: &[&str] = &["type", "time", "source", "location", "details"];
    let mut errors: Vec<FieldError> = obj
        .keys()
        .filter(|k| !FIELDS.contains(&k.as_str()))
        .map(|k| FieldError::new(k.as_str(), format!("unknown field; expected {}", FIELDS.join(", "))))
        .collect();
    let event_type = match obj.get("type") {
        Some(Value::String(s)) => NewEvent::parse_type("type", s).map_err(|e| errors.push(e)).ok(),
        Some(_) => {
            errors.push(FieldError::new("type", "must be a string"));
            None
        }
        None => {
            errors.push(FieldError::new("type", "is required"));
            None
        }
    };
    let time = match obj.get("time") {
        None | Some(Value::Null) => Some(now),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| errors.push(FieldError::new("time", format!("must be an RFC 3339 time: {e}"))))
            .ok(),
        Some(_) => {
            errors.push(FieldError::new("time", "must be an RFC 3339 time string"));
            None
        }
    };
    let source = match obj.get("source") {
        Some(Value::Object(s)) => {
            let kind = s.get("kind").and_then(Value::as_str).and_then(SourceKind::parse);
            match kind {
                Some(SourceKind::User) => Some(Source { kind: SourceKind::User, id: caller.to_owned() }),
                Some(k @ (SourceKind::Camera | SourceKind::Unit)) => match s.get("id").and_then(Value::as_str) {
                    Some(id) => Some(Source { kind: k, id: id.to_owned() }),
                    None => {
                        errors.push(FieldError::new("source.id", "is required: the camera or unit id"));
                        None
                    }
                },
                _ => {
                    errors.push(FieldError::new("source.kind", "must be camera, unit or user (user: the caller)"));
                    None
                }
            }
        }
        _ => {
            errors.push(FieldError::new(
                "source",
                "is required: {\"kind\": \"camera\", \"id\": CAMERA_ID}, {\"kind\": \"unit\", \"id\": UNIT_ID} or {\"kind\": \"user\"}",
            ));
            None
        }
    };
    let location = match obj.get("location") {
        None | Some(Value::Null) => None,
        Some(v) => match serde_json::from_value::<Location>(v.clone()) {
            Ok(l) => Some(l),
            Err(_) => {
                errors.push(FieldError::new("location", "must be {\"lat\": number, \"lon\": number}"));
                None
            }
        },
    };
    let details = obj.get("details").cloned().unwrap_or_else(|| json!({}));
    let (Some(event_type), Some(time), Some(source)) = (event_type, time, source) else {
        return Err(errors);
    };
    let e = NewEvent { event_type, time, source, location, details };
    errors.extend(e.check_raised_from_outside());
    errors.extend(e.check());
    if errors.is_empty() {
        Ok(e)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use citywatch_model::EventType;

    fn parse(v: Value) -> Result<NewEvent, Vec<FieldError>> {
        parse_raised(v.as_object().unwrap(), "op", Utc::now())
    }

    fn fields(v: Value) -> Vec<String> {
        parse(v).unwrap_err().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_user_source_is_the_caller_and_time_defaults_to_now() {
        let now = Utc::now();
        let e = parse_raised(json!({"type": "motion", "source": {"kind": "user", "id": "someone else"}}).as_object().unwrap(), "op", now).unwrap();
        assert_eq!(e.event_type, EventType::Motion);
        assert_eq!((e.source.kind, e.source.id.as_str()), (SourceKind::User, "op"));
        assert_eq!(e.time, now);
        assert_eq!(e.details, json!({}));
    }

    #[test]
    fn every_bad_field_is_named() {
        assert_eq!(fields(json!({"colour": "red"})), ["colour", "type", "source"]);
        assert_eq!(fields(json!({"type": 3, "time": "noon", "source": {"kind": "camera"}, "location": "here"})), ["type", "time", "source.id", "location"]);
        assert_eq!(fields(json!({"type": "motion", "source": {"kind": "system"}})), ["source.kind"]);
    }

    #[test]
    fn what_only_the_server_raises_or_writes_is_refused() {
        let refused = fields(json!({"type": "plate_read", "source": {"kind": "camera", "id": "c1"}, "details": {"snapshot": "x.jpg"}}));
        assert_eq!(refused, ["type", "details.snapshot"]);
        assert_eq!(fields(json!({"type": "motion", "source": {"kind": "camera", "id": "c1"}, "details": []})), ["details"]);
    }
}
