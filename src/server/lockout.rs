//! Limits on failed logins, per user name and per client address (`serve --max-failed-logins` and
//! `--max-failed-logins-per-address`). Milvus has none: every guess costs its bcrypt run. Here a user or an
//! address with that many failed logins in the last minute has further guesses refused at once, with Milvus's
//! authentication error and without an argon2 run; credentials this process already verified (a client that is
//! logged in) are let through all the same, so an attack on a name does not lock its sessions out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long failures count.
const WINDOW: Duration = Duration::from_secs(60);
/// The most names and addresses tracked at once; beyond it, expired entries are dropped, and new ones are not
/// tracked until there is room (a limit the other key still enforces).
const MAX_TRACKED: usize = 65_536;

/// The limits (0: none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    pub per_user: u32,
    pub per_address: u32,
}

impl Default for LoginLimits {
    /// 30 failures a minute per user name: far above what a person mistyping does, so ordinary use answers as
    /// Milvus does. None per address by default: clients behind one NAT or proxy share an address.
    fn default() -> Self {
        LoginLimits {
            per_user: 30,
            per_address: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    Address(IpAddr),
}

/// Failed logins in the current window, by user name and by address.
pub struct Lockout {
    limits: LoginLimits,
    /// (when the window began, failures in it)
    failures: Mutex<HashMap<Key, (Instant, u32)>>,
}

impl Lockout {
    pub fn new(limits: LoginLimits) -> Lockout {
        Lockout {
            limits,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(&self, user: &str, address: Option<IpAddr>) -> Vec<(Key, u32)> {
        let mut keys = Vec::with_capacity(2);
        if self.limits.per_user > 0 {
            keys.push((Key::User(user.to_string()), self.limits.per_user));
        }
        if let (Some(address), true) = (address, self.limits.per_address > 0) {
            keys.push((Key::Address(address), self.limits.per_address));
        }
        keys
    }

    /// Whether `user` or `address` has reached its limit in the current window.
    pub fn locked(&self, user: &str, address: Option<IpAddr>) -> bool {
        let keys = self.keys(user, address);
        if keys.is_empty() {
            return false;
        }
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        keys.iter().any(|(key, limit)| {
            failures
                .get(key)
                .is_some_and(|(began, count)| now.duration_since(*began) < WINDOW && count >= limit)
        })
    }

    /// Count a failed login of `user` from `address`.
    pub fn failed(&self, user: &str, address: Option<IpAddr>) {
        let keys = self.keys(user, address);
        if keys.is_empty() {
            return;
        }
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if failures.len() >= MAX_TRACKED {
            failures.retain(|_, (began, _)| now.duration_since(*began) < WINDOW);
        }
        for (key, _) in keys {
            if failures.len() >= MAX_TRACKED && !failures.contains_key(&key) {
                continue;
            }
            let entry = failures.entry(key).or_insert((now, 0));
            if now.duration_since(entry.0) >= WINDOW {
                *entry = (now, 0);
            }
            entry.1 = entry.1.saturating_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_or_an_address_is_locked_at_its_limit() {
        let lockout = Lockout::new(LoginLimits {
            per_user: 3,
            per_address: 5,
        });
        let here: IpAddr = "10.0.0.1".parse().unwrap();
        let there: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..2 {
            lockout.failed("alice", Some(here));
        }
        assert!(!lockout.locked("alice", Some(there)));
        lockout.failed("alice", Some(here));
        assert!(lockout.locked("alice", Some(there)), "3 failures of alice");
        assert!(!lockout.locked("bob", Some(there)));
        lockout.failed("bob", Some(here));
        lockout.failed("carol", Some(here));
        assert!(lockout.locked("dave", Some(here)), "5 failures from here");
        assert!(!lockout.locked("dave", Some(there)));
        assert!(!lockout.locked("dave", None));
    }

    #[test]
    fn no_limits_lock_nothing() {
        let lockout = Lockout::new(LoginLimits {
            per_user: 0,
            per_address: 0,
        });
        for _ in 0..100 {
            lockout.failed("alice", None);
        }
        assert!(!lockout.locked("alice", None));
    }
}
