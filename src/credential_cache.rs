//! Passwords known to match stored hashes, so that checking a credential again costs a keyed hash rather than
//! an argon2 run.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, OnceLock};

use blake2::digest::{KeyInit, Mac};
use blake2::Blake2bMac512;

use crate::error::{RbacError, Result};

/// Entries kept, about 200 bytes each. Past it, the half used longest ago goes (a client in use keeps its
/// entry however many others come and go).
const CAPACITY: usize = 10_000;

/// One cache for the whole process: whether a password matches a PHC string does not depend on the registry
/// holding it (the string carries its own random salt), so a second client of a registry, or a second
/// registry restored from the first one's backup, skips the argon2 run the first one already paid for.
static SHARED: OnceLock<CredentialCache> = OnceLock::new();

/// An entry maps a stored PHC string to a keyed BLAKE2b digest of a password that matches it (the key is
/// random and lives only in this process; the password itself is never held). A changed password or a
/// dropped user leaves nothing to match: the lookup starts from the hash stored now.
pub struct CredentialCache {
    key: [u8; 64],
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    /// PHC string -> (digest, when it was last inserted or matched).
    digests: HashMap<String, (Vec<u8>, u64)>,
    /// Counts insertions and matches: the clock of `digests`.
    uses: u64,
}

impl Entries {
    fn tick(&mut self) -> u64 {
        self.uses += 1;
        self.uses
    }

    /// Drop the half used longest ago: a sort once per CAPACITY / 2 insertions.
    fn evict(&mut self) {
        let mut last_uses: Vec<u64> = self.digests.values().map(|(_, used)| *used).collect();
        let middle = last_uses.len() / 2;
        let (_, cutoff, _) = last_uses.select_nth_unstable(middle);
        let cutoff = *cutoff;
        self.digests.retain(|_, (_, used)| *used >= cutoff);
    }
}

impl fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CredentialCache { .. }")
    }
}

impl CredentialCache {
    /// The process's cache.
    pub fn shared() -> Result<&'static CredentialCache> {
        if let Some(cache) = SHARED.get() {
            return Ok(cache);
        }
        let cache = CredentialCache::new()?;
        Ok(SHARED.get_or_init(|| cache))
    }

    fn new() -> Result<CredentialCache> {
        let mut key = [0u8; 64];
        getrandom::fill(&mut key)
            .map_err(|err| RbacError::storage("cannot seed the credential cache", err))?;
        Ok(CredentialCache {
            key,
            entries: Mutex::new(Entries::default()),
        })
    }

    fn keyed(&self, stored: &str, password: &str) -> Blake2bMac512 {
        let mut mac = Blake2bMac512::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("a 64-byte key is valid for BLAKE2b"));
        mac.update(stored.as_bytes());
        mac.update(&[0]);
        mac.update(password.as_bytes());
        mac
    }

    /// Whether `password` is known to match `stored` (constant-time comparison of the digests).
    pub fn contains(&self, password: &str, stored: &str) -> bool {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = entries.tick();
        match entries.digests.get_mut(stored) {
            Some((digest, used)) if self.keyed(stored, password).verify_slice(digest).is_ok() => {
                *used = now;
                true
            }
            _ => false,
        }
    }

    /// Remember that `password` matches `stored`: it was verified against it, or `stored` was just made
    /// from it.
    pub fn insert(&self, password: &str, stored: &str) {
        let digest = self
            .keyed(stored, password)
            .finalize()
            .into_bytes()
            .to_vec();
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = entries.tick();
        entries.digests.insert(stored.to_string(), (digest, now));
        if entries.digests.len() > CAPACITY {
            entries.evict();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_matches_only_the_hash_it_was_inserted_with() {
        let cache = CredentialCache::new().unwrap();
        assert!(!cache.contains("pw", "$phc1"));
        cache.insert("pw", "$phc1");
        assert!(cache.contains("pw", "$phc1"));
        assert!(!cache.contains("pW", "$phc1"));
        assert!(!cache.contains("pw", "$phc2"), "a new hash has no entry");
        let held = format!("{:?}", cache.entries.lock().unwrap().digests);
        assert!(
            !held.contains("pw\""),
            "the password itself is never held: {held}"
        );
    }

    #[test]
    fn entries_in_use_stay_when_others_come_and_go() {
        let cache = CredentialCache::new().unwrap();
        cache.insert("pw", "$in-use");
        for n in 0..3 * CAPACITY {
            cache.insert("pw", &format!("$phc{n}"));
            if n % 1000 == 0 {
                assert!(cache.contains("pw", "$in-use"), "evicted after {n} others");
            }
        }
        assert!(cache.contains("pw", "$in-use"));
        assert!(!cache.contains("pw", "$phc0"), "long unused entries go");
        assert!(cache.contains("pw", &format!("$phc{}", 3 * CAPACITY - 1)));
        assert!(cache.entries.lock().unwrap().digests.len() <= CAPACITY);
    }
}
