//! Password hashing: argon2id PHC strings, verification, and the parameter sets.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::error::{RbacError, Result};

/// How many argon2 working memories are kept for reuse (19 MiB each at the strong setting).
const SPARE_MEMORIES: usize = 4;

/// Argon2's working memories, reused: allocating (and page-faulting) 19 MiB for every hash cost more kernel
/// time than a third of the hash, and two threads doing it slowed each other down.
static SPARE: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// Run `work` on `blocks` blocks of argon2 memory, wiped before they are kept for the next hash (they hold
/// password-derived data).
fn with_memory<R>(blocks: usize, work: impl FnOnce(&mut [Block]) -> R) -> R {
    let spare = SPARE.lock().unwrap_or_else(|p| p.into_inner()).pop();
    let mut memory = spare.unwrap_or_default();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let used = &mut memory[..blocks];
    let result = work(used);
    // Zeroing each block's words compiles to memset; filling with `Block::default()` copied a zero block
    // into each one, 8% of a hash.
    for block in used.iter_mut() {
        AsMut::<[u64]>::as_mut(block).fill(0);
    }
    let mut spare = SPARE.lock().unwrap_or_else(|p| p.into_inner());
    if spare.len() < SPARE_MEMORIES {
        spare.push(memory);
    }
    result
}

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
    params: Params,
    /// A hash to verify against when the user does not exist, so that unknown users cost the same time.
    decoy: String,
    /// How the hashes this hasher makes begin: a stored hash that begins so is not weaker.
    own_prefix: String,
}

impl PasswordHasher {
    pub fn new(strength: HashStrength) -> PasswordHasher {
        let (memory, iterations, lanes) = strength.costs();
        let params = Params::new(memory, iterations, lanes, None)
            .unwrap_or_else(|_| unreachable!("the built-in argon2 parameter sets are valid"));
        PasswordHasher {
            params,
            decoy: decoy_phc(memory, iterations, lanes),
            own_prefix: format!("$argon2id$v=19$m={memory},t={iterations},p={lanes}$"),
        }
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// A fresh salted argon2id PHC string for `password`.
    pub fn hash(&self, password: &str) -> Result<String> {
        counters::hashed();
        let fail = |err: &dyn fmt::Display| RbacError::storage("cannot hash the password", err);
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|err| fail(&err))?;
        let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
        let argon2 = self.argon2();
        with_memory(self.params.block_count(), |memory| {
            argon2.hash_password_into_with_memory(password.as_bytes(), &salt, &mut output, memory)
        })
        .map_err(|err| fail(&err))?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(|err| fail(&err))?,
            salt: Some(Salt::new(&salt).map_err(|err| fail(&err))?),
            hash: Some(Output::new(&output).map_err(|err| fail(&err))?),
        };
        Ok(phc.to_string())
    }

    /// Whether `password` matches `stored`, in constant time; a malformed stored hash never matches (and costs
    /// a verification all the same, so that it cannot be told from a wrong password).
    pub fn verify(&self, password: &str, stored: &str) -> Verified {
        match PasswordHash::new(stored) {
            Ok(parsed) => self.verify_parsed(password, &parsed),
            Err(_) => {
                self.verify_decoy(password);
                Verified::No
            }
        }
    }

    fn verify_parsed(&self, password: &str, parsed: &PasswordHash) -> Verified {
        counters::verified();
        let (Some(salt), Some(expected), Ok(params)) =
            (&parsed.salt, &parsed.hash, Params::try_from(parsed))
        else {
            return Verified::No;
        };
        let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
            return Verified::No;
        };
        let version = parsed
            .version
            .and_then(|v| Version::try_from(v).ok())
            .unwrap_or_default();
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let mut computed = vec![0u8; expected.len()];
        let hashed = with_memory(params.block_count(), |memory| {
            argon2.hash_password_into_with_memory(
                password.as_bytes(),
                salt.as_ref(),
                &mut computed,
                memory,
            )
        });
        // Output's comparison is constant-time.
        match Output::new(&computed) {
            Ok(computed) if hashed.is_ok() && &computed == expected => Verified::Yes {
                rehash: self.is_weaker(parsed),
            },
            _ => Verified::No,
        }
    }

    /// Spend the time of one verification, for a user that does not exist.
    pub fn verify_decoy(&self, password: &str) {
        if let Ok(decoy) = PasswordHash::new(&self.decoy) {
            let _ = self.verify_parsed(password, &decoy);
        }
    }

    /// Whether `stored` is weaker than the configured parameters, and should be replaced at the next
    /// successful login. Cheap for hashes made with these parameters (a prefix comparison).
    pub fn needs_rehash(&self, stored: &str) -> bool {
        !stored.starts_with(&self.own_prefix)
            && PasswordHash::new(stored).map_or(true, |parsed| self.is_weaker(&parsed))
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

/// A well-formed argon2id PHC string with the given costs that no password matches (its digest is all zeros:
/// finding a password for it would mean breaking argon2). Verifying against it costs a full verification from
/// the very first attempt, and building it costs nothing, unlike hashing a decoy password.
fn decoy_phc(memory: u32, iterations: u32, lanes: u32) -> String {
    // 16 bytes of salt ("decoydecoydecoyd") and 32 zero bytes of digest, in unpadded base64.
    format!(
        "$argon2id$v=19$m={memory},t={iterations},p={lanes}$ZGVjb3lkZWNveWRlY295ZA${}",
        "A".repeat(43)
    )
}

/// How many argon2 runs this thread made, for tests that must prove a path hashes (or does not): timing would
/// be flaky, counting is exact. Registry calls run on the caller's thread, so a thread's count is its own.
#[cfg(test)]
pub(crate) mod counters {
    use std::cell::Cell;

    thread_local! {
        static HASHES: Cell<u64> = const { Cell::new(0) };
        static VERIFICATIONS: Cell<u64> = const { Cell::new(0) };
    }

    pub fn hashed() {
        HASHES.with(|n| n.set(n.get() + 1));
    }

    pub fn verified() {
        VERIFICATIONS.with(|n| n.set(n.get() + 1));
    }

    /// (hashes, verifications) made by this thread so far.
    pub fn runs() -> (u64, u64) {
        (HASHES.with(Cell::get), VERIFICATIONS.with(Cell::get))
    }
}

#[cfg(not(test))]
mod counters {
    pub fn hashed() {}
    pub fn verified() {}
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
    fn weaker_hashes_are_flagged_for_rehash() {
        let fast = PasswordHasher::new(HashStrength::Fast)
            .hash("secret")
            .unwrap();
        let strong = PasswordHasher::new(HashStrength::Strong);
        assert_eq!(
            strong.verify("secret", &fast),
            Verified::Yes { rehash: true }
        );
        assert!(strong.needs_rehash(&fast) && strong.needs_rehash("not a hash"));
        let strong_hash = strong.hash("secret").unwrap();
        assert!(!strong.needs_rehash(&strong_hash));
        assert!(!PasswordHasher::new(HashStrength::Fast).needs_rehash(&strong_hash));
        assert!(strong_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(
            PasswordHasher::new(HashStrength::Fast).verify("secret", &strong_hash),
            Verified::Yes { rehash: false }
        );
    }

    #[test]
    fn the_decoy_costs_one_verification_and_matches_nothing() {
        for strength in [HashStrength::Fast, HashStrength::Strong] {
            let hasher = PasswordHasher::new(strength);
            let (m, t, p) = strength.costs();
            let decoy = PasswordHash::new(&hasher.decoy).unwrap();
            let params = Params::try_from(&decoy).unwrap();
            assert_eq!(
                (params.m_cost(), params.t_cost(), params.p_cost()),
                (m, t, p)
            );
            assert!(
                !hasher.is_weaker(&decoy),
                "the decoy costs what a real hash costs"
            );
        }
        let hasher = PasswordHasher::new(HashStrength::Fast);
        let before = counters::runs();
        hasher.verify_decoy("P@ssw0rd");
        assert_eq!(
            counters::runs(),
            (before.0, before.1 + 1),
            "exactly one verification, no hashing"
        );
        for guess in ["", "decoy password", "decoydecoydecoyd", "P@ssw0rd"] {
            assert_eq!(hasher.verify(guess, &hasher.decoy), Verified::No);
        }
        // A malformed stored hash costs a verification too.
        let before = counters::runs();
        assert_eq!(hasher.verify("P@ssw0rd", "$argon2id$garbage"), Verified::No);
        assert_eq!(counters::runs(), (before.0, before.1 + 1));
    }

    /// Constant time where it matters: an unknown user and a wrong password each cost exactly one argon2
    /// verification, so a caller cannot tell them apart by timing. Counted, not timed, so never flaky.
    #[test]
    fn unknown_users_and_wrong_passwords_cost_one_verification_each() {
        use crate::caller::Credentials;
        use crate::model::{BackupUser, RbacBackup};
        use crate::ops::{args, Request};
        use crate::registry::testing::request;
        use crate::registry::Registry;
        use crate::settings::RegistryOptions;
        use crate::store::Location;

        let options = RegistryOptions {
            password_hash: Some(HashStrength::Fast),
            profile: Some(crate::profile::ProfileName::Milvus25),
            ..RegistryOptions::default()
        };
        let registry = Registry::open(Location::Memory, &options).unwrap();
        let login = |user: &str, password: &str| {
            registry.authenticate(&Credentials::parse(user, password, ""), "")
        };
        let root = login("root", "Milvus").unwrap();
        let create = request(
            "create_user",
            &[("user_name", "user_1"), ("password", "abcdef")],
        );
        registry.execute(&root, &create).unwrap();
        let cost = |work: &dyn Fn() -> bool| {
            let before = counters::runs();
            let succeeded = work();
            let after = counters::runs();
            (succeeded, after.0 - before.0, after.1 - before.1)
        };
        // (succeeded, hashes, verifications)
        assert_eq!(cost(&|| login("nobody", "abcdef").is_ok()), (false, 0, 1));
        assert_eq!(cost(&|| login("user_1", "abcdeX").is_ok()), (false, 0, 1));
        assert_eq!(
            cost(&|| login("user_1", "abcdef").is_ok()),
            (true, 0, 0),
            "a password hashed in this process is known to match"
        );
        assert_eq!(
            cost(&|| login("user_1", "abcdeX").is_ok()),
            (false, 0, 1),
            "the cache holds no wrong password"
        );
        // A hash made elsewhere (restored from a backup): verified once, then known.
        let foreign = PasswordHasher::new(HashStrength::Fast)
            .hash("restored")
            .unwrap();
        let backup = RbacBackup {
            users: vec![BackupUser {
                name: "user_2".into(),
                password_hash: foreign,
                description: String::new(),
                roles: Vec::new(),
            }],
            roles: Vec::new(),
            grants: Vec::new(),
            groups: Vec::new(),
        };
        let restore = Request::RestoreRbac(args::RestoreRbac {
            meta: backup,
            timeout: None,
        });
        registry.execute(&root, &restore).unwrap();
        assert_eq!(cost(&|| login("user_2", "restored").is_ok()), (true, 0, 1));
        assert_eq!(
            cost(&|| login("user_2", "restored").is_ok()),
            (true, 0, 0),
            "verified once, then cached"
        );
        // update_password's old-password check: the same for a missing user and a wrong password (1400 both).
        let change = |user: &str, old: &str| {
            let texts = [
                ("user_name", user),
                ("old_password", old),
                ("new_password", "ghijkl"),
            ];
            registry.execute(&root, &request("update_password", &texts))
        };
        assert_eq!(cost(&|| change("nobody", "abcdef").is_ok()), (false, 0, 1));
        assert_eq!(cost(&|| change("user_1", "abcdeX").is_ok()), (false, 0, 1));
        assert_eq!(change("nobody", "abcdef").unwrap_err().code(), 1400);
        assert_eq!(change("user_1", "abcdeX").unwrap_err().code(), 1400);
    }

    /// Oversize input is refused before any argon2 run.
    #[test]
    fn oversize_input_is_refused_without_hashing() {
        use crate::caller::Credentials;
        use crate::registry::testing::request;
        use crate::registry::Registry;
        use crate::settings::RegistryOptions;
        use crate::store::Location;

        let huge = "a".repeat(10 << 20);
        for profile in crate::profile::ProfileName::ALL {
            let options = RegistryOptions {
                password_hash: Some(HashStrength::Fast),
                profile: Some(profile),
                ..RegistryOptions::default()
            };
            let registry = Registry::open(Location::Memory, &options).unwrap();
            let root = registry
                .authenticate(&Credentials::parse("", "", "root:Milvus"), "")
                .unwrap();
            let run = |name: &str, texts: &[(&str, &str)]| {
                registry.execute(&root, &request(name, texts)).map(drop)
            };
            let create = |user: &str, password: &str| {
                run(
                    "create_user",
                    &[("user_name", user), ("password", password)],
                )
            };
            let change = |old: &str, new: &str| {
                let texts = [
                    ("user_name", "user_1"),
                    ("old_password", old),
                    ("new_password", new),
                ];
                run("update_password", &texts)
            };
            create("user_1", "P@ssw0rd").unwrap();
            let before = counters::runs();
            let calls: [(&str, crate::Result<()>); 5] = [
                ("name", create(&huge, "P@ssw0rd")),
                ("password", create("user_2", &huge)),
                ("old password", change(&huge, "P@ssw0rd")),
                ("new password", change("P@ssw0rd", &huge)),
                (
                    "token password",
                    registry
                        .authenticate(&Credentials::parse("", "", &format!("user_1:{huge}")), "")
                        .map(drop),
                ),
            ];
            for (what, result) in calls {
                assert!(result.is_err(), "{profile:?}: a 10 MB {what} was accepted");
            }
            assert_eq!(
                counters::runs(),
                before,
                "{profile:?}: an argon2 run for oversize input"
            );
        }
    }
}
