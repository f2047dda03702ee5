//! An incident as NENA Emergency Incident Data Object (EIDO) JSON,
//! following the component and field naming of NENA-STA-021 as far as this
//! data reaches: the message and incident identifiers, the incident
//! component (type, status, priority, times), one location component
//! (a GeoJSON point and the civic address as text), notes, and one
//! emergency resource component per unit sent (status, type, times).
//! Not covered: person, vehicle, agency and agent components beyond the
//! authoring user, PIDF-LO location by value, registry URNs for types
//! (our free-text incident types are passed as they are). It is not
//! validated against NENA's published JSON Schema here.

use citywatch_model::dispatch::{Incident, IncidentState, Unit};
use serde_json::{json, Value};

/// `units` are the current records of the incident's units (for their
/// present status and type); an assignment whose unit was deleted is
/// still listed, with status unknown.
pub fn incident_to_eido(incident: &Incident, units: &[Unit], issuer: &str) -> Value {
    let tracking_id = format!("urn:citywatch:incident:{}", incident.id);
    let updated = incident.timeline.last().map_or(incident.created_at, |e| e.time);
    let location_id = format!("{tracking_id}:location:1");
    let notes: Vec<Value> = incident
        .timeline
        .iter()
        .filter(|e| e.kind == "note")
        .enumerate()
        .map(|(i, e)| {
            json!({
                "$id": format!("{tracking_id}:note:{}", i + 1),
                "noteDateTimeStamp": e.time,
                "noteText": e.detail["text"],
                "authorReference": e.actor,
            })
        })
        .collect();
    let resources: Vec<Value> = incident
        .units
        .iter()
        .map(|a| {
            let unit = units.iter().find(|u| u.id == a.unit_id);
            // A released unit no longer works this incident, whatever it does now.
            let status = match (unit, a.released_at) {
                (_, Some(_)) => "Released".to_owned(),
                (Some(u), None) => u.status.as_str().to_owned(),
                (None, None) => "unknown".to_owned(),
            };
            json!({
                "$id": format!("{tracking_id}:resource:{}", a.unit_id),
                "resourceIdentifier": a.unit_id,
                "resourceCallSignText": unit.map(|u| u.call_sign.clone()),
                "resourceTypeCommonRegistryText": unit.map(|u| u.kind.as_str()),
                "resourceCapabilityText": unit.map(|u| u.capabilities.clone()).unwrap_or_default(),
                "resourceStatusCommonRegistryText": status,
                "resourceAssignedTimeStamp": a.assigned_at,
                "resourceReleasedTimeStamp": a.released_at,
                "resourceAssignedByReference": a.assigned_by,
                "resourceLocationReference": unit.and_then(|u| u.position.as_ref()).map(|p| json!({
                    "type": "Point", "coordinates": [p.lon, p.lat], "timeStamp": p.time,
                })),
            })
        })
        .collect();
    let status = match incident.state {
        IncidentState::Open if incident.units.iter().any(|a| a.released_at.is_none()) => "Dispatched",
        IncidentState::Open => "Open",
        IncidentState::Closed => "Closed",
    };
    json!({
        "eidoMessageIdentifier": format!("{tracking_id}:message:{}", updated.timestamp_micros()),
        "$id": tracking_id,
        "lastUpdateTimeStamp": updated,
        "issuingSystem": issuer,
        "incidentComponent": {
            "$id": format!("{tracking_id}:incident"),
            "incidentTrackingIdentifier": tracking_id,
            "localIncidentIdentifier": incident.id.to_string(),
            "lastUpdateTimeStamp": updated,
            "incidentTypeCommonRegistryText": incident.kind,
            "incidentStatusCommonRegistryText": [status],
            "incidentCommonPriorityNumber": incident.priority,
            "incidentCreationTimeStamp": incident.created_at,
            "incidentClosureTimeStamp": incident.closed_at,
            "incidentCreatedByReference": incident.created_by,
            "locationReference": location_id,
            "relatedAlertIdentifier": incident.alert_id.map(|a| format!("urn:citywatch:alert:{a}")),
            "supervisorReviewFlag": incident.flagged,
        },
        "locationComponent": [{
            "$id": location_id,
            "locationTypeDescription": "incident",
            "locationByValue": {"type": "Point", "coordinates": [incident.location.lon, incident.location.lat]},
            "civicAddressText": incident.location.address,
        }],
        "notesComponent": notes,
        "emergencyResourceComponent": resources,
    })
}
