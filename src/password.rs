//! Password hashing: argon2id PHC strings, verification, and the parameter sets.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};

use blake2::digest::{KeyInit, Mac};
use blake2::Blake2bMac512;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{RbacError, Result};

/// Which argon2id parameters new hashes get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashStrength {
    /// OWASP's argon2id recommendation: m=19456 KiB, t=2, p=1.
    Strong,
    /// m=64 KiB, t=1, p=1: for test suites and throwaway registries, not for real secrets.
    Fast,
}

impl HashStrength {
    pub fn as_str(self) -> &'static str {
        match self {
            HashStrength::Strong => "strong",
            HashStrength::Fast => "fast",
        }
    }

    /// (memory in KiB, iterations, lanes)
    fn costs(self) -> (u32, u32, u32) {
        match self {
            HashStrength::Strong => (19_456, 2, 1),
            HashStrength::Fast => (64, 1, 1),
        }
    }
}

impl fmt::Display for HashStrength {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HashStrength {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        match text {
            "strong" => Ok(HashStrength::Strong),
            "fast" => Ok(HashStrength::Fast),
            _ => Err(format!(
                "unknown password_hash {text:?}; expected \"strong\" or \"fast\""
            )),
        }
    }
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    No,
    /// The password is right; `rehash` says the stored hash is weaker than the configured parameters.
    Yes {
        rehash: bool,
    },
}

/// Hashes with one parameter set and verifies hashes of any parameter set (they are in the PHC string).
#[derive(Debug)]
pub struct PasswordHasher {
    strength: HashStrength,
    params: Params,
    /// A hash to verify against when the user does not exist, so that unknown users cost the same time.
    decoy: OnceLock<String>,
}

impl PasswordHasher {
    pub fn new(strength: HashStrength) -> PasswordHasher {
        let (memory, iterations, lanes) = strength.costs();
        let params = Params::new(memory, iterations, lanes, None)
            .unwrap_or_else(|_| unreachable!("the built-in argon2 parameter sets are valid"));
        PasswordHasher {
            strength,
            params,
            decoy: OnceLock::new(),
        }
    }

    pub fn strength(&self) -> HashStrength {
        self.strength
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// A fresh salted argon2id PHC string for `password`.
    pub fn hash(&self, password: &str) -> Result<String> {
        self.argon2()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|err| RbacError::storage("cannot hash the password", err))
    }

    /// Whether `password` matches `stored`, in constant time; a malformed stored hash never matches.
    pub fn verify(&self, password: &str, stored: &str) -> Verified {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return Verified::No;
        };
        match self.argon2().verify_password(password.as_bytes(), &parsed) {
            Ok(()) => Verified::Yes {
                rehash: self.is_weaker(&parsed),
            },
            Err(_) => Verified::No,
        }
    }

    /// Spend the time of one verification, for a user that does not exist.
    pub fn verify_decoy(&self, password: &str) {
        let decoy = self
            .decoy
            .get_or_init(|| self.hash("decoy password").unwrap_or_default());
        let _ = self.verify(password, decoy);
    }

    fn is_weaker(&self, stored: &PasswordHash) -> bool {
        if stored.algorithm.as_str() != "argon2id" {
            return true;
        }
        match Params::try_from(stored) {
            Ok(params) => {
                params.m_cost() < self.params.m_cost()
                    || params.t_cost() < self.params.t_cost()
                    || params.p_cost() < self.params.p_cost()
            }
            Err(_) => true,
        }
    }
}

/// Credentials verified once, so that checking them again costs a keyed hash rather than an argon2 run.
///
/// An entry maps a user to the stored PHC string it was verified against and a keyed BLAKE2b digest of the
/// password (the key is random and lives only in this process). It is valid only while the stored PHC string
/// is unchanged, so a password change or a drop (in any process) invalidates it.
pub struct CredentialCache {
    key: [u8; 64],
    verified: Mutex<HashMap<String, (String, Vec<u8>)>>,
}

impl fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CredentialCache { .. }")
    }
}

impl CredentialCache {
    pub fn new() -> Result<CredentialCache> {
        let mut key = [0u8; 64];
        getrandom::fill(&mut key)
            .map_err(|err| RbacError::storage("cannot seed the credential cache", err))?;
        Ok(CredentialCache {
            key,
            verified: Mutex::new(HashMap::new()),
        })
    }

    /// The keyed hash of a credential, ready to finalize or verify.
    fn keyed(&self, user: &str, password: &str) -> Blake2bMac512 {
        let mut mac = Blake2bMac512::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("a 64-byte key is valid for BLAKE2b"));
        mac.update(user.as_bytes());
        mac.update(&[0]);
        mac.update(password.as_bytes());
        mac
    }

    /// Whether `password` was verified for `user` against exactly `stored` (constant-time comparison).
    pub fn contains(&self, user: &str, password: &str, stored: &str) -> bool {
        let verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        match verified.get(user) {
            Some((phc, digest)) if phc == stored => {
                self.keyed(user, password).verify_slice(digest).is_ok()
            }
            _ => false,
        }
    }

    /// Remember that `password` matched `stored` for `user`.
    pub fn insert(&self, user: &str, password: &str, stored: &str) {
        let digest = self.keyed(user, password).finalize().into_bytes().to_vec();
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        verified.insert(user.to_string(), (stored.to_string(), digest));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_strings_that_verify() {
        let hasher = PasswordHasher::new(HashStrength::Fast);
        let hash = hasher.hash("P@ssw0rd").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{hash}");
        assert!(!hash.contains("P@ssw0rd"));
        assert_eq!(
            hasher.verify("P@ssw0rd", &hash),
            Verified::Yes { rehash: false }
        );
        assert_eq!(hasher.verify("P@ssw0rD", &hash), Verified::No);
        assert_eq!(hasher.verify("P@ssw0rd", "not a hash"), Verified::No);
        assert_ne!(hash, hasher.hash("P@ssw0rd").unwrap(), "salted");
    }

    #[test]
    fn the_cache_holds_a_credential_only_for_its_stored_hash() {
        let cache = CredentialCache::new().unwrap();
        assert!(!cache.contains("u", "pw", "$phc1"));
        cache.insert("u", "pw", "$phc1");
        assert!(cache.contains("u", "pw", "$phc1"));
        assert!(!cache.contains("u", "pW", "$phc1"));
        assert!(
            !cache.contains("u", "pw", "$phc2"),
            "a new hash invalidates the entry"
        );
        assert!(!cache.contains("v", "pw", "$phc1"));
        let held = format!("{:?}", cache.verified.lock().unwrap());
        assert!(
            !held.contains("pw\""),
            "the password itself is never held: {held}"
        );
    }

    #[test]
    fn weaker_hashes_are_flagged_for_rehash() {
        let fast = PasswordHasher::new(HashStrength::Fast)
            .hash("secret")
            .unwrap();
        let strong = PasswordHasher::new(HashStrength::Strong);
        assert_eq!(
            strong.verify("secret", &fast),
            Verified::Yes { rehash: true }
        );
        let strong_hash = strong.hash("secret").unwrap();
        assert!(strong_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(
            PasswordHasher::new(HashStrength::Fast).verify("secret", &strong_hash),
            Verified::Yes { rehash: false }
        );
    }
}
