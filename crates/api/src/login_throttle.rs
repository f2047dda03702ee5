//! How fast logins may be tried, and what the audit log hears of those
//! that are refused.
//!
//! Two limits, both checked before a password is hashed:
//! - **Per client address**, a bucket of login requests (a burst of
//!   `ADDRESS_BURST`, then one a second). A successful login gives its
//!   token back, so a control room behind one address can start a shift,
//!   while one address guessing or spraying names is slowed to a trickle.
//! - **Per user name and client address**, growing waits: after
//!   `FREE_FAILURES` wrong passwords from an address, that address waits
//!   1 s, 2 s, 4 s … (at most `MAX_WAIT`) before trying that name again.
//!   Failures at one address never delay the name at another, so nobody
//!   can lock an account out from elsewhere.
//!
//! The audit log gets one entry per successful login and for the first few
//! failures of an address (`ENTRY_BURST`, then one a minute). Everything
//! else (refusals by either limit, malformed names, further failures) is
//! counted per address and written as one summary entry (`attempts`), once
//! the address has been quiet for `QUIET` (at most one such early summary a
//! minute per address) and at least every `SUMMARY_EVERY` while it keeps
//! on. So an anonymous client cannot grow the log faster than a few small
//! entries a minute.
//!
//! The client address is the TCP peer: `X-Forwarded-For` is not trusted.
//! Behind a reverse proxy every client shares the proxy's address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use citywatch_audit::Record;
use serde_json::json;

use crate::login_name::{LoginName, RefusedName};

const ADDRESS_BURST: f64 = 30.0;
const ADDRESS_REFILL_PER_S: f64 = 1.0;
const FREE_FAILURES: u32 = 5;
const FIRST_WAIT: Duration = Duration::from_secs(1);
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// Failures of a name at an address are forgotten after this long without one.
const FORGET_FAILURES: Duration = Duration::from_secs(60 * 60);
/// Failures recorded one entry each, per address, before they are counted.
const ENTRY_BURST: f64 = 5.0;
const ENTRY_REFILL_PER_S: f64 = 1.0 / 60.0;
const QUIET: Duration = Duration::from_secs(2);
const SUMMARY_EVERY: Duration = Duration::from_secs(60);
/// Names a summary lists; more are only counted.
const SUMMARY_NAMES: usize = 5;
/// Tracked addresses (or name/address pairs) before idle ones are dropped.
const MAX_TRACKED: usize = 100_000;

/// Why a login was not tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many login requests from the address.
    Address { retry_after_s: u64 },
    /// Too many wrong passwords for this name from the address.
    NameAtAddress { retry_after_s: u64 },
}

impl Refusal {
    pub fn retry_after_s(self) -> u64 {
        match self {
            Refusal::Address { retry_after_s } | Refusal::NameAtAddress { retry_after_s } => retry_after_s,
        }
    }
}

/// Whether a failed login gets an entry of its own, or is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureEntry {
    Own,
    Counted,
}

#[derive(Default)]
pub struct LoginThrottle {
    state: Mutex<Tracked>,
}

#[derive(Default)]
struct Tracked {
    addresses: HashMap<IpAddr, Address>,
    names: HashMap<(LoginName, IpAddr), Failures>,
}

struct Address {
    requests: Bucket,
    entries: Bucket,
    counted: Option<Counted>,
    last_summary: Option<Instant>,
}

/// A token bucket: `level` tokens, refilled at `rate` a second up to `cap`.
struct Bucket {
    level: f64,
    cap: f64,
    rate: f64,
    at: Instant,
}

impl Bucket {
    fn full(cap: f64, rate: f64, now: Instant) -> Bucket {
        Bucket { level: cap, cap, rate, at: now }
    }

    fn refill(&mut self, now: Instant) {
        self.level = (self.level + now.saturating_duration_since(self.at).as_secs_f64() * self.rate).min(self.cap);
        self.at = now;
    }

    /// Takes a token, or says how long until there is one.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.level >= 1.0 {
            self.level -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.level) / self.rate))
        }
    }

    fn give_back(&mut self) {
        self.level = (self.level + 1.0).min(self.cap);
    }

    fn is_full(&self, now: Instant) -> bool {
        self.level + now.saturating_duration_since(self.at).as_secs_f64() * self.rate >= self.cap
    }
}

struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    /// When the name may be tried again from the address.
    fn next_try(&self) -> Instant {
        if self.count < FREE_FAILURES {
            return self.last;
        }
        let doublings = (self.count - FREE_FAILURES).min(20);
        self.last + (FIRST_WAIT * 2u32.pow(doublings)).min(MAX_WAIT)
    }
}

/// Attempts of one address counted since its last summary.
struct Counted {
    first: Instant,
    last: Instant,
    first_at: DateTime<Utc>,
    last_at: DateTime<Utc>,
    refused: u64,
    failed: u64,
    malformed: u64,
    names: Vec<String>,
    more_names: bool,
}

#[derive(Clone, Copy)]
enum Attempt {
    Refused,
    Failed,
    Malformed,
}

impl Address {
    fn new(now: Instant) -> Address {
        Address {
            requests: Bucket::full(ADDRESS_BURST, ADDRESS_REFILL_PER_S, now),
            entries: Bucket::full(ENTRY_BURST, ENTRY_REFILL_PER_S, now),
            counted: None,
            last_summary: None,
        }
    }

    fn count(&mut self, attempt: Attempt, name: &str, now: Instant) {
        let c = self.counted.get_or_insert_with(|| Counted {
            first: now,
            last: now,
            first_at: Utc::now(),
            last_at: Utc::now(),
            refused: 0,
            failed: 0,
            malformed: 0,
            names: Vec::new(),
            more_names: false,
        });
        c.last = now;
        c.last_at = Utc::now();
        match attempt {
            Attempt::Refused => c.refused += 1,
            Attempt::Failed => c.failed += 1,
            Attempt::Malformed => c.malformed += 1,
        }
        if !c.names.iter().any(|n| n == name) {
            if c.names.len() < SUMMARY_NAMES {
                c.names.push(name.to_owned());
            } else {
                c.more_names = true;
            }
        }
    }

    fn summary_due(&self, now: Instant) -> bool {
        let Some(c) = &self.counted else { return false };
        let quiet = now.saturating_duration_since(c.last) >= QUIET;
        let early_allowed = self.last_summary.is_none_or(|t| now.saturating_duration_since(t) >= SUMMARY_EVERY);
        (quiet && early_allowed) || now.saturating_duration_since(c.first) >= SUMMARY_EVERY
    }

    fn idle(&self, now: Instant) -> bool {
        self.counted.is_none() && self.requests.is_full(now) && self.entries.is_full(now)
    }
}

impl LoginThrottle {
    fn lock(&self) -> std::sync::MutexGuard<'_, Tracked> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `name` may be tried from `ip` now. A refusal is counted.
    pub fn check(&self, name: &LoginName, ip: IpAddr) -> Result<(), Refusal> {
        let now = Instant::now();
        let ip = address_key(ip);
        let mut t = self.lock();
        t.make_room(now);
        let wait = t.names.get(&(name.clone(), ip)).map(|f| f.next_try().saturating_duration_since(now)).filter(|w| !w.is_zero());
        let address = t.addresses.entry(ip).or_insert_with(|| Address::new(now));
        let refusal = if let Some(wait) = wait {
            Some(Refusal::NameAtAddress { retry_after_s: whole_seconds(wait) })
        } else {
            address.requests.take(now).err().map(|wait| Refusal::Address { retry_after_s: whole_seconds(wait) })
        };
        match refusal {
            Some(r) => {
                address.count(Attempt::Refused, name.as_str(), now);
                Err(r)
            }
            None => Ok(()),
        }
    }

    /// A request whose user name could not be a user's; always counted.
    pub fn malformed(&self, refused: &RefusedName, ip: IpAddr) {
        let now = Instant::now();
        let mut t = self.lock();
        t.make_room(now);
        t.addresses.entry(address_key(ip)).or_insert_with(|| Address::new(now)).count(Attempt::Malformed, refused.as_str(), now);
    }

    /// A wrong password (or an unknown or disabled user).
    pub fn failed(&self, name: &LoginName, ip: IpAddr) -> FailureEntry {
        let now = Instant::now();
        let ip = address_key(ip);
        let mut t = self.lock();
        let f = t.names.entry((name.clone(), ip)).or_insert(Failures { count: 0, last: now });
        if now.saturating_duration_since(f.last) > FORGET_FAILURES {
            f.count = 0;
        }
        f.count += 1;
        f.last = now;
        let address = t.addresses.entry(ip).or_insert_with(|| Address::new(now));
        if address.entries.take(now).is_ok() {
            FailureEntry::Own
        } else {
            address.count(Attempt::Failed, name.as_str(), now);
            FailureEntry::Counted
        }
    }

    /// A correct password: the name's failures at the address are
    /// forgotten and the request does not count against the address.
    pub fn succeeded(&self, name: &LoginName, ip: IpAddr) {
        let ip = address_key(ip);
        let mut t = self.lock();
        t.names.remove(&(name.clone(), ip));
        if let Some(a) = t.addresses.get_mut(&ip) {
            a.requests.give_back();
        }
    }

    /// Summary entries due now (all counted attempts if `all`, as at
    /// shutdown), and forgets what is idle.
    pub fn take_summaries(&self, all: bool) -> Vec<Record> {
        let now = Instant::now();
        let mut t = self.lock();
        let mut records = Vec::new();
        for (ip, address) in t.addresses.iter_mut() {
            let due = if all { address.counted.is_some() } else { address.summary_due(now) };
            if !due {
                continue;
            }
            let c = address.counted.take().expect("a due summary has counts");
            address.last_summary = Some(now);
            records.push(summary_record(*ip, &c));
        }
        t.forget_idle(now);
        records
    }
}

impl Tracked {
    fn forget_idle(&mut self, now: Instant) {
        self.addresses.retain(|_, a| !a.idle(now));
        self.names.retain(|_, f| now.saturating_duration_since(f.last) <= FORGET_FAILURES);
    }

    /// Bounds memory under a spray of addresses or names.
    fn make_room(&mut self, now: Instant) {
        if self.addresses.len() > MAX_TRACKED || self.names.len() > MAX_TRACKED {
            self.forget_idle(now);
            // Still full: forget the failures first (their waits end early),
            // never the counts the audit log is owed.
            if self.names.len() > MAX_TRACKED {
                self.names.clear();
            }
        }
    }
}

/// IPv6 clients usually hold a whole /64: one address of it stands for all.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut s = v6.segments();
                s[4..].fill(0);
                IpAddr::V6(s.into())
            }
        },
    }
}

fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn summary_record(ip: IpAddr, c: &Counted) -> Record {
    let actor = match c.names.as_slice() {
        [one] if !c.more_names => one.clone(),
        _ => "(several names)".to_owned(),
    };
    Record::new(actor, "auth.login", "session").result("denied").detail(json!({
        "reason": "refused or failed logins from one address, counted",
        "peer": ip.to_string(),
        "attempts": c.refused + c.failed + c.malformed,
        "refused": c.refused,
        "failed": c.failed,
        "malformed": c.malformed,
        "usernames": c.names,
        "more_usernames": c.more_names,
        "first_at": c.first_at,
        "last_at": c.last_at,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> LoginName {
        LoginName::parse(s).unwrap()
    }

    #[test]
    fn waits_grow_per_name_and_address_only() {
        let t = LoginThrottle::default();
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..FREE_FAILURES {
            t.check(&name("admin"), a).unwrap();
            t.failed(&name("admin"), a);
        }
        assert_eq!(t.check(&name("admin"), a), Err(Refusal::NameAtAddress { retry_after_s: 1 }));
        t.check(&name("admin"), b).unwrap();
        t.check(&name("ana"), a).unwrap();
        t.failed(&name("admin"), a);
        assert_eq!(t.check(&name("admin"), a), Err(Refusal::NameAtAddress { retry_after_s: 2 }));
    }

    #[test]
    fn an_address_gets_a_burst_then_one_a_second_and_successes_give_back() {
        let t = LoginThrottle::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        for n in 0..ADDRESS_BURST as usize {
            t.check(&name(&format!("u{n}")), a).unwrap();
            t.succeeded(&name(&format!("u{n}")), a);
        }
        for n in 0..ADDRESS_BURST as usize {
            t.check(&name(&format!("v{n}")), a).unwrap();
        }
        assert_eq!(t.check(&name("w"), a), Err(Refusal::Address { retry_after_s: 1 }));
    }

    #[test]
    fn refusals_are_counted_into_one_summary() {
        let t = LoginThrottle::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let entries: Vec<_> = (0..8).map(|_| t.failed(&name("ana"), a)).collect();
        assert_eq!(entries.iter().filter(|e| **e == FailureEntry::Own).count(), ENTRY_BURST as usize);
        for _ in 0..10 {
            assert!(t.check(&name("ana"), a).is_err());
        }
        t.malformed(&LoginName::parse(&"x".repeat(100)).unwrap_err(), a);
        assert!(t.take_summaries(false).is_empty(), "not before the address is quiet");
        let all = t.take_summaries(true);
        assert_eq!(all.len(), 1);
        let d = &all[0].detail;
        assert_eq!((d["attempts"].as_u64(), d["refused"].as_u64(), d["failed"].as_u64(), d["malformed"].as_u64()), (Some(14), Some(10), Some(3), Some(1)));
        assert_eq!(all[0].actor, "(several names)");
        assert!(t.take_summaries(true).is_empty(), "written once");
    }

    #[test]
    fn ipv6_clients_are_throttled_per_64() {
        assert_eq!(address_key("2001:db8:1:2:aaaa::1".parse().unwrap()), address_key("2001:db8:1:2:bbbb::2".parse().unwrap()));
        assert_ne!(address_key("2001:db8:1:2::1".parse().unwrap()), address_key("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(address_key("::ffff:10.0.0.1".parse().unwrap()), "10.0.0.1".parse::<IpAddr>().unwrap());
    }
}
