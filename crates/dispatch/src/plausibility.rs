//! Whether a GPS fix can be where its unit was. A device with a reset or
//! fast clock, or a receiver that jumps across the world, must not move a
//! unit on the dispatcher's map: such a fix is kept in the trail, flagged
//! with the reason ([`ImplausibleFix`]), and never becomes the position.
//!
//! Two checks: the fix's time lies in a window around the server clock
//! (not older than a day, not more than a minute ahead: a fix from the
//! future would hide every true fix until its time came), and the way
//! from the unit's current position is one its kind can cover in the time
//! between, with room for GPS error.

use chrono::{DateTime, Duration, Utc};
use citywatch_geo::ellipsoid::distance_m;
use citywatch_model::dispatch::{ImplausibleFix, Position, UnitKind};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plausibility {
    /// Fixes taken longer ago than this are flagged `too_old`.
    pub max_age: Duration,
    /// Fixes taken further ahead of the server clock than this are flagged
    /// `ahead_of_clock` (further still than `DispatchConfig::max_future_skew`
    /// they are refused).
    pub max_ahead: Duration,
    /// Metres two honest fixes may disagree by however close in time.
    pub gps_error_m: f64,
}

impl Default for Plausibility {
    fn default() -> Self {
        Plausibility { max_age: Duration::hours(24), max_ahead: Duration::seconds(60), gps_error_m: 100.0 }
    }
}

/// The fastest a unit of this kind moves, m/s: well above what it does on
/// a call (a car 250 km/h, a motorbike 300 km/h, an officer on foot 45 km/h,
/// a sprint), so that only a fix no unit could produce is flagged.
pub fn top_speed_mps(kind: UnitKind) -> f64 {
    match kind {
        UnitKind::Car => 250.0 / 3.6,
        UnitKind::Motorbike => 300.0 / 3.6,
        UnitKind::Foot => 45.0 / 3.6,
    }
}

impl Plausibility {
    /// Why `fix` cannot be where a unit of `kind`, last at `current`, was; `None` if it can.
    pub fn judge(&self, fix: &Position, kind: UnitKind, current: Option<&Position>, now: DateTime<Utc>) -> Option<ImplausibleFix> {
        if fix.time < now - self.max_age {
            return Some(ImplausibleFix::TooOld);
        }
        if fix.time > now + self.max_ahead {
            return Some(ImplausibleFix::AheadOfClock);
        }
        // Only a fix newer than the position can move it; older ones are
        // trailed as out of order whatever they say.
        let current = current.filter(|c| c.time < fix.time)?;
        let seconds = (fix.time - current.time).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6;
        let reach = top_speed_mps(kind) * seconds + self.gps_error_m;
        (distance_m(current.lat, current.lon, fix.lat, fix.lon) > reach).then_some(ImplausibleFix::TooFast)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(lat: f64, lon: f64, time: DateTime<Utc>) -> Position {
        Position { unit_id: "u".into(), lat, lon, time, speed_mps: None, bearing_deg: None }
    }

    #[test]
    fn time_window_and_speed_per_kind() {
        let p = Plausibility::default();
        let now = Utc::now();
        let here = at(44.8, 20.46, now - Duration::seconds(60));
        let judge = |fix: &Position, kind| p.judge(fix, kind, Some(&here), now);
        assert_eq!(judge(&at(44.8, 20.46, now - Duration::days(2)), UnitKind::Car), Some(ImplausibleFix::TooOld));
        assert_eq!(judge(&at(44.8, 20.46, now + Duration::seconds(90)), UnitKind::Car), Some(ImplausibleFix::AheadOfClock));
        assert_eq!(judge(&at(44.8, 20.46, now + Duration::seconds(30)), UnitKind::Car), None, "a slightly fast clock is fine");
        // 2 km in a minute: 120 km/h, a car's or a motorbike's but no one's on foot.
        let two_km = at(44.818, 20.46, now);
        assert_eq!(judge(&two_km, UnitKind::Car), None);
        assert_eq!(judge(&two_km, UnitKind::Motorbike), None);
        assert_eq!(judge(&two_km, UnitKind::Foot), Some(ImplausibleFix::TooFast));
        // Across the world in a minute: no one's.
        assert_eq!(judge(&at(-33.9, 151.2, now), UnitKind::Motorbike), Some(ImplausibleFix::TooFast));
        // GPS jitter of a few tens of metres a second apart is not a jump.
        let jitter = at(44.8004, 20.46, here.time + Duration::seconds(1));
        assert_eq!(judge(&jitter, UnitKind::Foot), None);
        // The first fix of a unit has nothing to be compared with.
        assert_eq!(p.judge(&two_km, UnitKind::Foot, None, now), None);
    }
}
