//! An alert as an OASIS Common Alerting Protocol 1.2 message, for other
//! agencies' systems. Written by hand: the document is small and fixed.

use std::fmt::Write;

use citywatch_model::{Alert, AlertState, Severity, Timestamp};

/// CAP times carry an explicit offset, and UTC is written "-00:00", never "Z".
fn cap_time(t: Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S-00:00").to_string()
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Extreme => "Extreme",
        Severity::Severe => "Severe",
        Severity::Moderate => "Moderate",
        Severity::Minor => "Minor",
    }
}

/// `sender` identifies this installation (e.g. `citywatch@city.example`);
/// `radius_m` is the area's radius around the alert's position (the rule's
/// correlation radius).
pub fn alert_to_cap(alert: &Alert, sender: &str, radius_m: f64) -> String {
    // An open alert is happening now; a closed one is past, and a false
    // alarm did not happen.
    let (urgency, certainty) = match alert.state {
        AlertState::New | AlertState::Acknowledged => ("Immediate", "Observed"),
        AlertState::Resolved => ("Past", "Observed"),
        AlertState::FalseAlarm => ("Past", "Unlikely"),
    };
    let mut area_desc = format!("{} {}", alert.source.kind.as_str(), alert.source.id);
    if let Some(d) = &alert.district {
        let _ = write!(area_desc, ", district {d}");
    }
    let mut x = String::new();
    let _ = write!(
        x,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>citywatch-alert-{id}</identifier>
  <sender>{sender}</sender>
  <sent>{sent}</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Restricted</scope>
  <restriction>For public safety agencies only</restriction>
  <info>
    <language>en</language>
    <category>Security</category>
    <event>{event}</event>
    <urgency>{urgency}</urgency>
    <severity>{severity}</severity>
    <certainty>{certainty}</certainty>
    <senderName>Citywatch</senderName>
    <headline>{headline}</headline>
    <description>{description}</description>
    <parameter><valueName>citywatch:state</valueName><value>{state}</value></parameter>
    <parameter><valueName>citywatch:event_type</valueName><value>{event_type}</value></parameter>
    <area>
      <areaDesc>{area_desc}</areaDesc>
"#,
        id = alert.id,
        sender = esc(sender),
        sent = cap_time(alert.created_at),
        event = esc(&alert.rule_name),
        severity = severity(alert.severity),
        headline = esc(&format!("{}: {} at {} {}", alert.rule_name, alert.event_type, alert.source.kind.as_str(), alert.source.id)),
        description = esc(&format!(
            "{} event(s) from {} to {} (UTC).",
            alert.event_count,
            alert.first_event_at.format("%Y-%m-%d %H:%M:%S"),
            alert.last_event_at.format("%Y-%m-%d %H:%M:%S")
        )),
        state = alert.state.as_str(),
        event_type = alert.event_type,
        area_desc = esc(&area_desc),
    );
    if let Some(l) = alert.location {
        let _ = writeln!(x, "      <circle>{:.6},{:.6} {:.3}</circle>", l.lat, l.lon, radius_m / 1000.0);
    }
    x.push_str("    </area>\n  </info>\n</alert>\n");
    x
}
