//! A bound on how fast one user's denied calls become audit records. Each record is a write (an fsync on
//! SQLite, a transaction on etcd), and a denial needs nothing but a login: without a bound, an unprivileged
//! client turns every call it may not make into a write. A user's denials are recorded up to a burst, then at a
//! steady rate; the next recorded denial says how many were not.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use super::lock;

/// The denials of one user recorded at once before the rate applies.
pub(super) const DENIAL_BURST: u32 = 20;
/// The denials of one user recorded per second, past the burst.
pub(super) const DENIALS_PER_SECOND: u32 = 10;
/// The most users tracked at once; beyond it, those whose budget is whole again are forgotten, and if none is,
/// a new user's denials are recorded untracked (as many users denied at once as this is not one client).
const MAX_TRACKED: usize = 10_000;

/// One user's budget: how many records it may still leave now, and the denials it left unrecorded.
#[derive(Debug)]
struct Budget {
    tokens: f64,
    at: Instant,
    unrecorded: u64,
}

impl Budget {
    fn refilled(&mut self, now: Instant) {
        let earned =
            now.saturating_duration_since(self.at).as_secs_f64() * f64::from(DENIALS_PER_SECOND);
        self.tokens = (self.tokens + earned).min(f64::from(DENIAL_BURST));
        self.at = now;
    }
}

/// The budgets of the users denied lately, by name.
#[derive(Debug, Default)]
pub(super) struct DenialBudgets(Mutex<HashMap<String, Budget>>);

impl DenialBudgets {
    /// Whether a denial of `user` at `now` is recorded: `Some(n)` when it is, `n` being the denials of theirs
    /// left unrecorded since their last record; `None` when it is over their budget (and counted).
    pub(super) fn take(&self, user: &str, now: Instant) -> Option<u64> {
        let mut budgets = lock(&self.0);
        if !budgets.contains_key(user) && budgets.len() >= MAX_TRACKED {
            budgets.retain(|_, budget| {
                budget.refilled(now);
                budget.unrecorded > 0 || budget.tokens < f64::from(DENIAL_BURST)
            });
            if budgets.len() >= MAX_TRACKED {
                return Some(0);
            }
        }
        let budget = budgets.entry(user.to_string()).or_insert(Budget {
            tokens: f64::from(DENIAL_BURST),
            at: now,
            unrecorded: 0,
        });
        budget.refilled(now);
        if budget.tokens >= 1.0 {
            budget.tokens -= 1.0;
            Some(std::mem::take(&mut budget.unrecorded))
        } else {
            budget.unrecorded += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_then_a_steady_rate_and_the_unrecorded_are_counted() {
        let budgets = DenialBudgets::default();
        let start = Instant::now();
        for _ in 0..DENIAL_BURST {
            assert_eq!(budgets.take("u", start), Some(0));
        }
        assert_eq!(budgets.take("u", start), None);
        assert_eq!(budgets.take("u", start), None);
        // Another user has a budget of its own.
        assert_eq!(budgets.take("v", start), Some(0));
        // A tenth of a second earns one record, which says how many went unrecorded before it.
        let later = start + Duration::from_millis(100);
        assert_eq!(budgets.take("u", later), Some(2));
        assert_eq!(budgets.take("u", later), None);
        // An idle second earns the rate's worth, never more than the burst.
        let idle = later + Duration::from_secs(1);
        assert_eq!(budgets.take("u", idle), Some(1));
        for _ in 1..DENIALS_PER_SECOND {
            assert_eq!(budgets.take("u", idle), Some(0));
        }
        assert_eq!(budgets.take("u", idle), None);
        let long_idle = idle + Duration::from_secs(3600);
        let recorded = (0..DENIAL_BURST + 5)
            .filter(|_| budgets.take("u", long_idle).is_some())
            .count();
        assert_eq!(recorded, DENIAL_BURST as usize);
    }

    #[test]
    fn users_tracked_are_bounded_and_idle_ones_forgotten_first() {
        let budgets = DenialBudgets::default();
        let start = Instant::now();
        for n in 0..MAX_TRACKED {
            budgets.take(&format!("u{n}"), start);
        }
        // All are busy: a new user is recorded, untracked.
        assert_eq!(budgets.take("new", start), Some(0));
        assert_eq!(lock(&budgets.0).len(), MAX_TRACKED);
        // A second later every budget is whole again: they are forgotten to make room.
        assert_eq!(budgets.take("new", start + Duration::from_secs(1)), Some(0));
        assert_eq!(lock(&budgets.0).len(), 1);
    }

    /// Making room forgets only whole budgets with nothing unrecorded; a tracked user's budget is kept, even
    /// when every other user's is busy.
    #[test]
    fn making_room_keeps_what_is_owed() {
        let budgets = DenialBudgets::default();
        let start = Instant::now();
        for _ in 0..DENIAL_BURST + 2 {
            budgets.take("u", start);
        }
        for n in 1..MAX_TRACKED {
            budgets.take(&format!("u{n}"), start);
        }
        assert_eq!(lock(&budgets.0).len(), MAX_TRACKED);
        // Full, and u over its budget: it is still refused.
        assert_eq!(budgets.take("u", start), None);
        // Later, every budget is whole again; u's three unrecorded denials are remembered while room is made.
        let later = start + Duration::from_secs(10);
        assert_eq!(budgets.take("new", later), Some(0));
        assert_eq!(lock(&budgets.0).len(), 2);
        assert_eq!(budgets.take("u", later), Some(3));
    }
}
