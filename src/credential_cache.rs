//! Passwords known to match stored hashes, so that checking a credential again costs a keyed hash rather than
//! an argon2 run.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Mutex, OnceLock};

use blake2::digest::{KeyInit, Mac};
use blake2::Blake2bMac512;

use crate::error::{RbacError, Result};

/// Entries kept; the oldest go first. About 200 bytes each.
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
    digests: HashMap<String, Vec<u8>>,
    /// PHC strings in the order they were first inserted, for eviction.
    order: VecDeque<String>,
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
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.digests.get(stored) {
            Some(digest) => self.keyed(stored, password).verify_slice(digest).is_ok(),
            None => false,
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
        if entries.digests.insert(stored.to_string(), digest).is_none() {
            entries.order.push_back(stored.to_string());
        }
        while entries.order.len() > CAPACITY {
            if let Some(oldest) = entries.order.pop_front() {
                entries.digests.remove(&oldest);
            }
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
    fn the_oldest_entries_go_first() {
        let cache = CredentialCache::new().unwrap();
        for n in 0..CAPACITY + 2 {
            cache.insert("pw", &format!("$phc{n}"));
        }
        cache.insert("pw", "$phc5");
        assert!(!cache.contains("pw", "$phc0") && !cache.contains("pw", "$phc1"));
        assert!(
            cache.contains("pw", "$phc2") && cache.contains("pw", &format!("$phc{}", CAPACITY + 1))
        );
        let entries = cache.entries.lock().unwrap();
        assert_eq!(
            (entries.digests.len(), entries.order.len()),
            (CAPACITY, CAPACITY)
        );
    }
}
