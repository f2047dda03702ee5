//! Units on patrol in the demo city: where a car, motorbike or officer on
//! foot is after so many seconds, driving or walking the street grid.
//!
//! Pure: no clock, no I/O. The caller advances a [`Patrol`] by the time
//! that passed and sends the resulting fix wherever fixes go (in the demo,
//! the same AVL ingest a GPS device reaches). A patrol picks a random
//! intersection of its district and goes there along the streets (first
//! along one axis of the grid, then the other), then picks another; sent
//! somewhere (an incident), it goes to the intersection nearest to that
//! place and waits there until told to patrol again. Random choices come
//! from a seeded RNG, so the same seed gives the same route.

use std::collections::VecDeque;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::city::{district_rect, Frame, CITY_H_M, CITY_W_M, GRID_BLOCK_M};
use crate::BELGRADE;

/// Where a unit is and how it moves, as a GPS device would report it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PatrolFix {
    pub lat: f64,
    pub lon: f64,
    /// Metres per second over the last step (0 while waiting).
    pub speed_mps: f64,
    /// Degrees clockwise from north of the last movement.
    pub bearing_deg: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatrolMode {
    /// Round its district, intersection after intersection.
    Patrolling,
    /// To a place (then waits there).
    Heading,
    /// Stays where it is.
    Holding,
}

/// One unit's movement over the demo city's street grid (grid metres).
#[derive(Debug, Clone)]
pub struct Patrol {
    frame_centre: (f64, f64),
    /// The district patrolled: (u_min, v_min, u_max, v_max).
    area: (f64, f64, f64, f64),
    speed_mps: f64,
    rng: StdRng,
    at: (f64, f64),
    path: VecDeque<(f64, f64)>,
    mode: PatrolMode,
    bearing_deg: f64,
    last_speed_mps: f64,
}

impl Patrol {
    /// A unit patrolling demo district `district` (0-based, the order of
    /// [`crate::district_names`]) at `speed_mps`, starting at a random
    /// intersection of it.
    pub fn new(district: usize, speed_mps: f64, seed: u64) -> Patrol {
        let area = district_rect(district % crate::district_names().len());
        let mut rng = StdRng::seed_from_u64(seed);
        let at = random_corner(&mut rng, area);
        Patrol {
            frame_centre: BELGRADE,
            area,
            speed_mps: if speed_mps.is_finite() { speed_mps.max(0.0) } else { 0.0 },
            rng,
            at,
            path: VecDeque::new(),
            mode: PatrolMode::Patrolling,
            bearing_deg: 0.0,
            last_speed_mps: 0.0,
        }
    }

    fn frame(&self) -> Frame {
        Frame::new(self.frame_centre)
    }

    pub fn mode(&self) -> PatrolMode {
        self.mode
    }

    /// The district's rectangle as (lat, lon) of its four corners.
    pub fn area_corners(&self) -> [(f64, f64); 4] {
        let f = self.frame();
        let (a, b, c, d) = self.area;
        [(a, b), (c, b), (c, d), (a, d)].map(|(u, v)| {
            let [lon, lat] = f.lon_lat(u, v);
            (lat, lon)
        })
    }

    /// Whether (lat, lon) is inside the patrolled district (with `slack_m` to spare).
    pub fn in_area(&self, lat: f64, lon: f64, slack_m: f64) -> bool {
        let (u, v) = self.frame().grid(lat, lon);
        let (a, b, c, d) = self.area;
        u >= a - slack_m && u <= c + slack_m && v >= b - slack_m && v <= d + slack_m
    }

    /// Where the unit is now.
    pub fn fix(&self) -> PatrolFix {
        let [lon, lat] = self.frame().lon_lat(self.at.0, self.at.1);
        PatrolFix { lat, lon, speed_mps: self.last_speed_mps, bearing_deg: self.bearing_deg }
    }

    /// Goes (along the streets) to the intersection nearest to (lat, lon),
    /// clamped to the city, and waits there. Calling it again for the same
    /// place changes nothing.
    pub fn head_to(&mut self, lat: f64, lon: f64) {
        let (u, v) = self.frame().grid(lat, lon);
        let (u0, v0) = (-CITY_W_M / 2.0, -CITY_H_M / 2.0);
        let snap = |x: f64, lo: f64, len: f64| lo + ((x - lo) / GRID_BLOCK_M).round().clamp(0.0, (len / GRID_BLOCK_M).floor()) * GRID_BLOCK_M;
        let target = (snap(u, u0, CITY_W_M), snap(v, v0, CITY_H_M));
        let already = match self.mode {
            PatrolMode::Heading => self.path.back() == Some(&target) || (self.path.is_empty() && self.at == target),
            _ => false,
        };
        if !already {
            self.mode = PatrolMode::Heading;
            self.path = self.l_path(target);
        }
    }

    /// Stops where it is (on scene, out of service).
    pub fn hold(&mut self) {
        self.mode = PatrolMode::Holding;
        self.path.clear();
    }

    /// Back to patrolling its district (from wherever it is).
    pub fn patrol(&mut self) {
        if self.mode != PatrolMode::Patrolling {
            self.mode = PatrolMode::Patrolling;
            self.path.clear();
        }
    }

    /// Moves the unit on by `dt_s` seconds at its speed and answers where it is.
    pub fn advance(&mut self, dt_s: f64) -> PatrolFix {
        let mut left = if dt_s.is_finite() { dt_s.max(0.0) * self.speed_mps } else { 0.0 };
        let mut moved = 0.0;
        // Bounded: each turn of the loop either reaches a corner or spends all of `left`.
        for _ in 0..10_000 {
            if left <= 0.0 || self.mode == PatrolMode::Holding {
                break;
            }
            if self.path.is_empty() {
                if self.mode == PatrolMode::Heading {
                    break;
                }
                let next = random_corner(&mut self.rng, self.area);
                self.path = self.l_path(next);
                if self.path.is_empty() {
                    continue;
                }
            }
            let Some(&(tu, tv)) = self.path.front() else { break };
            let (du, dv) = (tu - self.at.0, tv - self.at.1);
            let d = du.hypot(dv);
            if d > 0.0 {
                self.bearing_deg = self.frame().bearing_deg(du, dv);
            }
            if d <= left {
                self.at = (tu, tv);
                self.path.pop_front();
                left -= d;
                moved += d;
            } else {
                self.at = (self.at.0 + du / d * left, self.at.1 + dv / d * left);
                moved += left;
                left = 0.0;
            }
        }
        self.last_speed_mps = if dt_s > 0.0 { moved / dt_s } else { 0.0 };
        self.fix()
    }

    /// Along the streets from where the unit is to `to`: first along the
    /// axis of the street it is on, then the other. Empty if already there.
    fn l_path(&mut self, to: (f64, f64)) -> VecDeque<(f64, f64)> {
        let (u, v) = self.at;
        let on_u_street = is_street(v, -CITY_H_M / 2.0);
        let on_v_street = is_street(u, -CITY_W_M / 2.0);
        let u_first = match (on_u_street, on_v_street) {
            (true, true) => self.rng.gen_bool(0.5),
            (true, false) => true,
            _ => false,
        };
        let corner = if u_first { (to.0, v) } else { (u, to.1) };
        [corner, to].into_iter().filter(|p| *p != self.at).fold(VecDeque::new(), |mut q, p| {
            if q.back() != Some(&p) {
                q.push_back(p);
            }
            q
        })
    }
}

/// Whether grid coordinate `x` lies on a street line (a multiple of the
/// block from `origin`), within a centimetre.
fn is_street(x: f64, origin: f64) -> bool {
    let k = (x - origin) / GRID_BLOCK_M;
    (k - k.round()).abs() * GRID_BLOCK_M < 0.01
}

/// A random intersection of the rectangle, edges included.
fn random_corner(rng: &mut StdRng, (a, b, c, d): (f64, f64, f64, f64)) -> (f64, f64) {
    let nu = ((c - a) / GRID_BLOCK_M).round() as i64;
    let nv = ((d - b) / GRID_BLOCK_M).round() as i64;
    (a + rng.gen_range(0..=nu) as f64 * GRID_BLOCK_M, b + rng.gen_range(0..=nv) as f64 * GRID_BLOCK_M)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Geodesic-enough distance for a few hundred metres (equirectangular).
    fn metres(a: &PatrolFix, b: &PatrolFix) -> f64 {
        let k = std::f64::consts::PI / 180.0 * 6_371_000.0;
        let dy = (b.lat - a.lat) * k;
        let dx = (b.lon - a.lon) * k * ((a.lat + b.lat) / 2.0).to_radians().cos();
        dx.hypot(dy)
    }

    #[test]
    fn a_patrol_stays_in_its_district_at_its_speed() {
        for (district, speed) in [(0, 11.1), (4, 12.5), (7, 1.39), (9, 11.1)] {
            let mut p = Patrol::new(district, speed, 42 + district as u64);
            let mut last = p.fix();
            assert!(p.in_area(last.lat, last.lon, 0.5), "starts inside district {district}");
            let mut travelled = 0.0;
            for step in 0..2_000 {
                let now = p.advance(2.0);
                let d = metres(&last, &now);
                // 2 s at the speed; a little for the rounding to 1e-7 degrees and the flat-earth distance.
                assert!(d <= speed * 2.0 * 1.01 + 0.05, "district {district} step {step}: {d} m in 2 s at {speed} m/s");
                assert!(now.speed_mps <= speed + 1e-9, "{now:?}");
                assert!(p.in_area(now.lat, now.lon, 0.5), "district {district} step {step}: left its area at {now:?}");
                travelled += d;
                last = now;
            }
            // It keeps moving: turns at corners cost nothing but the L-shaped path's length.
            assert!(travelled > speed * 2.0 * 2_000.0 * 0.8, "district {district}: only {travelled} m");
        }
    }

    #[test]
    fn patrols_follow_the_streets() {
        let mut p = Patrol::new(3, 11.1, 9);
        for _ in 0..500 {
            p.advance(2.0);
            let on_u = is_street(p.at.1, -CITY_H_M / 2.0);
            let on_v = is_street(p.at.0, -CITY_W_M / 2.0);
            assert!(on_u || on_v, "off the streets at {:?}", p.at);
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_route_and_another_seed_another() {
        let run = |seed| {
            let mut p = Patrol::new(2, 11.1, seed);
            (0..300).map(|_| p.advance(2.0)).collect::<Vec<_>>()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }

    #[test]
    fn heading_to_a_place_arrives_and_waits_then_patrols_again() {
        let mut p = Patrol::new(0, 11.1, 1);
        // The far corner of the city, in another district.
        let far = Patrol::new(9, 1.0, 1).area_corners()[2];
        p.head_to(far.0, far.1);
        let mut last = p.fix();
        for _ in 0..2_000 {
            let now = p.advance(2.0);
            assert!(metres(&last, &now) <= 11.1 * 2.0 * 1.01 + 0.05);
            last = now;
        }
        assert_eq!(p.mode(), PatrolMode::Heading);
        let arrived = p.fix();
        assert!(metres(&arrived, &PatrolFix { lat: far.0, lon: far.1, speed_mps: 0.0, bearing_deg: 0.0 }) < 1.0, "{arrived:?} vs {far:?}");
        assert_eq!(p.advance(2.0).speed_mps, 0.0, "waits at the place");
        p.patrol();
        let mut back = false;
        for _ in 0..3_000 {
            let now = p.advance(2.0);
            back |= p.in_area(now.lat, now.lon, 0.0);
        }
        assert!(back, "returns to its district");
        p.hold();
        let held = p.fix();
        assert_eq!(p.advance(10.0).lat, held.lat);
    }

    #[test]
    fn zero_or_bad_time_steps_do_not_move() {
        let mut p = Patrol::new(1, 11.1, 3);
        let start = p.fix();
        for dt in [0.0, -5.0, f64::NAN, f64::INFINITY] {
            let f = p.advance(dt);
            assert_eq!((f.lat, f.lon), (start.lat, start.lon), "dt {dt}");
        }
    }
}
