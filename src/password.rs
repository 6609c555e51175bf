//! Password hashing: argon2id PHC strings, verification, and the parameter sets.

use std::fmt;
use std::str::FromStr;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::error::{RbacError, Result};

/// How many argon2 working memories are kept for reuse (19 MiB each at the strong setting).
const SPARE_MEMORIES: usize = 4;

/// Argon2's working memories, reused: allocating (and page-faulting) 19 MiB for every hash cost more kernel
/// time than a third of the hash, and two threads doing it slowed each other down.
static SPARE: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// The most argon2 runs waiting for a turn; one more is refused at once (each run costs up to 19 MiB at the
/// strong setting, so without a bound, a crowd of wrong passwords drove a server to gigabytes).
const MAX_WAITING_RUNS: usize = 64;
/// The longest a run waits for its turn before it is refused.
const MAX_WAIT: Duration = Duration::from_secs(10);

/// The largest argon2 costs a stored hash may ask for: 64 MiB, 16 passes, 16 lanes (ours ask for 19 MiB, 2, 1).
/// A hash beyond them (planted by a restore, say) would make its next login allocate what it asks.
const MAX_MEMORY_KIB: u32 = 64 * 1024;
const MAX_ITERATIONS: u32 = 16;
const MAX_LANES: u32 = 16;

/// Turns for argon2 runs: at most `max_running` at once (0: one per CPU), at most `max_waiting` waiting, each
/// for at most `max_wait`.
struct Turns {
    /// (running, waiting)
    counts: Mutex<(usize, usize)>,
    freed: Condvar,
    max_running: usize,
    max_waiting: usize,
    max_wait: Duration,
}

static TURNS: Turns = Turns::new(0, MAX_WAITING_RUNS, MAX_WAIT);

/// One per CPU: more runs at once would only share the CPUs and hold more memory.
fn cpus() -> usize {
    static CPUS: OnceLock<usize> = OnceLock::new();
    *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// A turn to run argon2, given back when dropped.
struct Turn<'a>(&'a Turns);

impl Turns {
    const fn new(max_running: usize, max_waiting: usize, max_wait: Duration) -> Turns {
        Turns {
            counts: Mutex::new((0, 0)),
            freed: Condvar::new(),
            max_running,
            max_waiting,
            max_wait,
        }
    }

    fn max_running(&self) -> usize {
        if self.max_running == 0 {
            cpus()
        } else {
            self.max_running
        }
    }

    fn counts(&self) -> MutexGuard<'_, (usize, usize)> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take(&self) -> Result<Turn<'_>> {
        let busy = |running: usize, waiting: usize| {
            RbacError::RateLimited {
            message: format!(
                "rate limit exceeded: too many password checks at once ({running} running, {waiting} waiting); \
                 try again later"
            ),
        }
        };
        let limit = self.max_running();
        let mut counts = self.counts();
        if counts.0 < limit && counts.1 == 0 {
            counts.0 += 1;
            return Ok(Turn(self));
        }
        if counts.1 >= self.max_waiting {
            return Err(busy(counts.0, counts.1));
        }
        counts.1 += 1;
        let deadline = Instant::now() + self.max_wait;
        loop {
            let now = Instant::now();
            if counts.0 < limit || now >= deadline {
                break;
            }
            counts = self
                .freed
                .wait_timeout(counts, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        counts.1 -= 1;
        if counts.0 < limit {
            counts.0 += 1;
            Ok(Turn(self))
        } else {
            Err(busy(counts.0, counts.1))
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.0.counts().0 -= 1;
        self.0.freed.notify_one();
    }
}

/// Run `work` on `blocks` blocks of argon2 memory, in a turn, wiped before they are kept for the next hash
/// (they hold password-derived data).
fn with_memory<R>(blocks: usize, work: impl FnOnce(&mut [Block]) -> R) -> Result<R> {
    let _turn = TURNS.take()?;
    let spare = SPARE.lock().unwrap_or_else(|p| p.into_inner()).pop();
    let mut memory = spare.unwrap_or_default();
    // Never shrunk: a fast hash may borrow memory a strong one grew, and give it back whole.
    memory.resize(memory.len().max(blocks), Block::default());
    let used = &mut memory[..blocks];
    let result = work(used);
    // Zeroing each block's words compiles to memset; filling with `Block::default()` copied a zero block
    // into each one, 8% of a hash.
    for block in used.iter_mut() {
        AsMut::<[u64]>::as_mut(block).fill(0);
    }
    keep_spare(&mut SPARE.lock().unwrap_or_else(|p| p.into_inner()), memory);
    Ok(result)
}

/// Keep `memory` for a later hash, unless `SPARE_MEMORIES` are kept already: each may be 19 MiB, so a burst of
/// logins must not leave its peak behind.
fn keep_spare(spare: &mut Vec<Vec<Block>>, memory: Vec<Block>) {
    if spare.len() < SPARE_MEMORIES {
        spare.push(memory);
    }
}

/// The largest bcrypt cost a stored hash may ask for. Milvus makes its hashes at Go's default, 10; each step
/// doubles the work of a login, so a planted cost of 31 would make one login run for days.
const MAX_BCRYPT_COST: u32 = 12;

/// Whether `stored` is a bcrypt hash (Milvus stores its passwords so), by its prefix.
fn is_bcrypt(stored: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"]
        .iter()
        .any(|prefix| stored.starts_with(prefix))
}

/// Why a bcrypt hash cannot be kept.
fn check_bcrypt_hash(stored: &str) -> std::result::Result<(), String> {
    let parts = bcrypt::HashParts::from_str(stored)
        .map_err(|_| "is not a well-formed bcrypt hash".to_string())?;
    if parts.get_cost() > MAX_BCRYPT_COST {
        return Err(format!(
            "asks for bcrypt cost {} beyond the accepted {MAX_BCRYPT_COST}",
            parts.get_cost()
        ));
    }
    Ok(())
}

/// The stored "hash" of a user whose password is not known here (copied from a server that does not give its
/// hashes away): it matches no password, so the user cannot log in until a super user sets one.
pub const NO_PASSWORD: &str = "!";

/// Why `stored` cannot be kept as a password hash: it must be an argon2id PHC string with a salt, a digest and
/// costs within the bounds above, or a bcrypt hash as Milvus stores them (cost at most `MAX_BCRYPT_COST`),
/// which the user's next login replaces with an argon2id hash, or `NO_PASSWORD`.
pub fn check_stored_hash(stored: &str) -> std::result::Result<(), String> {
    if is_bcrypt(stored) {
        return check_bcrypt_hash(stored);
    }
    if stored == NO_PASSWORD {
        return Ok(());
    }
    let parsed = PasswordHash::new(stored)
        .map_err(|_| "is neither an argon2id PHC string nor a bcrypt hash".to_string())?;
    if parsed.algorithm.as_str() != "argon2id" || parsed.salt.is_none() || parsed.hash.is_none() {
        return Err("is neither an argon2id PHC string nor a bcrypt hash".into());
    }
    let params = Params::try_from(&parsed)
        .map_err(|err| format!("has invalid argon2 parameters ({err})"))?;
    if !within_bounds(&params) {
        return Err(format!(
            "asks for argon2 costs m={},t={},p={} beyond the accepted m={MAX_MEMORY_KIB},t={MAX_ITERATIONS},p={MAX_LANES}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost()
        ));
    }
    Ok(())
}

fn within_bounds(params: &Params) -> bool {
    params.m_cost() <= MAX_MEMORY_KIB
        && params.t_cost() <= MAX_ITERATIONS
        && params.p_cost() <= MAX_LANES
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
        })?
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

    /// Whether `password` matches `stored`, in constant time; a malformed stored hash, or one asking for costs
    /// beyond the bounds, never matches (and costs a verification all the same, so that it cannot be told from
    /// a wrong password). Fails only when too many argon2 runs wait already.
    pub fn verify(&self, password: &str, stored: &str) -> Result<Verified> {
        if is_bcrypt(stored) {
            return self.verify_bcrypt(password, stored);
        }
        match PasswordHash::new(stored) {
            Ok(parsed) => self.verify_parsed(password, &parsed),
            Err(_) => self.verify_decoy(password).map(|()| Verified::No),
        }
    }

    fn verify_parsed(&self, password: &str, parsed: &PasswordHash) -> Result<Verified> {
        let (Some(salt), Some(expected), Ok(params)) =
            (&parsed.salt, &parsed.hash, Params::try_from(parsed))
        else {
            return self.verify_decoy(password).map(|()| Verified::No);
        };
        let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
            return self.verify_decoy(password).map(|()| Verified::No);
        };
        if !within_bounds(&params) {
            return self.verify_decoy(password).map(|()| Verified::No);
        }
        let version = parsed
            .version
            .and_then(|v| Version::try_from(v).ok())
            .unwrap_or_default();
        let matched = self.run_verification(
            password,
            salt.as_ref(),
            expected,
            algorithm,
            version,
            params,
        )?;
        if matched {
            return Ok(Verified::Yes {
                rehash: self.is_weaker(parsed),
            });
        }
        // A wrong password against a cheaper hash (restored from elsewhere) costs a full verification too, so
        // that it answers no faster than for any other user.
        if self.is_weaker(parsed) {
            self.verify_decoy(password)?;
        }
        Ok(Verified::No)
    }

    fn run_verification(
        &self,
        password: &str,
        salt: &[u8],
        expected: &Output,
        algorithm: Algorithm,
        version: Version,
        params: Params,
    ) -> Result<bool> {
        counters::verified();
        let blocks = params.block_count();
        let argon2 = Argon2::new(algorithm, version, params);
        let mut computed = vec![0u8; expected.len()];
        let hashed = with_memory(blocks, |memory| {
            argon2.hash_password_into_with_memory(password.as_bytes(), salt, &mut computed, memory)
        })?;
        // Output's comparison is constant-time.
        Ok(
            matches!(Output::new(&computed), Ok(computed) if hashed.is_ok() && &computed == expected),
        )
    }

    /// Verify against a bcrypt hash (restored from Milvus), in a turn as argon2 runs are: a match always asks
    /// for an argon2id hash instead. A wrong password costs a decoy argon2 run too, as for a cheaper argon2 hash.
    fn verify_bcrypt(&self, password: &str, stored: &str) -> Result<Verified> {
        if check_bcrypt_hash(stored).is_err() {
            return self.verify_decoy(password).map(|()| Verified::No);
        }
        counters::verified();
        // Go's bcrypt, which Milvus uses, reads at most 72 bytes of a password; so does this.
        let matched = with_memory(0, |_| bcrypt::verify(password, stored))?.unwrap_or(false);
        if matched {
            return Ok(Verified::Yes { rehash: true });
        }
        self.verify_decoy(password)?;
        Ok(Verified::No)
    }

    /// Spend the time of one verification, for a user that does not exist.
    pub fn verify_decoy(&self, password: &str) -> Result<()> {
        let decoy = PasswordHash::new(&self.decoy)
            .unwrap_or_else(|_| unreachable!("the decoy is a well-formed PHC string"));
        let (Some(salt), Some(expected)) = (&decoy.salt, &decoy.hash) else {
            unreachable!("the decoy has a salt and a digest")
        };
        self.run_verification(
            password,
            salt.as_ref(),
            expected,
            Algorithm::Argon2id,
            Version::V0x13,
            self.params.clone(),
        )
        .map(drop)
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
            hasher.verify("P@ssw0rd", &hash).unwrap(),
            Verified::Yes { rehash: false }
        );
        assert_eq!(hasher.verify("P@ssw0rD", &hash).unwrap(), Verified::No);
        assert_eq!(
            hasher.verify("P@ssw0rd", "not a hash").unwrap(),
            Verified::No
        );
        assert_ne!(hash, hasher.hash("P@ssw0rd").unwrap(), "salted");
    }

    #[test]
    fn at_most_spare_memories_are_kept() {
        let mut spare = Vec::new();
        keep_spare(&mut spare, vec![Block::default()]);
        assert_eq!(spare.len(), 1, "a memory is kept for the next hash");
        for _ in 0..SPARE_MEMORIES + 2 {
            keep_spare(&mut spare, vec![Block::default()]);
        }
        assert_eq!(spare.len(), SPARE_MEMORIES);
    }

    #[test]
    fn each_cost_weaker_than_the_hashers_own_asks_for_a_rehash() {
        let strong = PasswordHasher::new(HashStrength::Strong); // m=19456, t=2, p=1
        for (memory, iterations, lanes, weaker) in [
            (8192, 2, 1, true),
            (19456, 1, 1, true),
            (19456, 3, 1, false),
            (65536, 2, 1, false),
            (19456, 2, 2, false),
        ] {
            assert_eq!(
                strong.needs_rehash(&decoy_phc(memory, iterations, lanes)),
                weaker,
                "m={memory},t={iterations},p={lanes}"
            );
        }
    }

    #[test]
    fn hash_strengths_print_as_they_are_spelled() {
        for strength in [HashStrength::Strong, HashStrength::Fast] {
            assert_eq!(strength.to_string().parse::<HashStrength>(), Ok(strength));
        }
        assert_eq!(HashStrength::Fast.to_string(), "fast");
    }

    #[test]
    fn weaker_hashes_are_flagged_for_rehash() {
        let fast = PasswordHasher::new(HashStrength::Fast)
            .hash("secret")
            .unwrap();
        let strong = PasswordHasher::new(HashStrength::Strong);
        assert_eq!(
            strong.verify("secret", &fast).unwrap(),
            Verified::Yes { rehash: true }
        );
        assert!(strong.needs_rehash(&fast) && strong.needs_rehash("not a hash"));
        let strong_hash = strong.hash("secret").unwrap();
        assert!(!strong.needs_rehash(&strong_hash));
        assert!(!PasswordHasher::new(HashStrength::Fast).needs_rehash(&strong_hash));
        assert!(strong_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(
            PasswordHasher::new(HashStrength::Fast)
                .verify("secret", &strong_hash)
                .unwrap(),
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
        hasher.verify_decoy("P@ssw0rd").unwrap();
        assert_eq!(
            counters::runs(),
            (before.0, before.1 + 1),
            "exactly one verification, no hashing"
        );
        for guess in ["", "decoy password", "decoydecoydecoyd", "P@ssw0rd"] {
            assert_eq!(hasher.verify(guess, &hasher.decoy).unwrap(), Verified::No);
        }
        // A malformed stored hash costs a verification too.
        let before = counters::runs();
        assert_eq!(
            hasher.verify("P@ssw0rd", "$argon2id$garbage").unwrap(),
            Verified::No
        );
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

    /// At most `max_running` runs at once; waiting is bounded in number and in time, and what does not fit
    /// is refused with Milvus's rate-limit code rather than queued without end.
    #[test]
    fn argon2_runs_take_turns_and_a_full_queue_is_refused() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::{Arc, Barrier};

        let turns = Arc::new(Turns::new(2, 3, Duration::from_secs(10)));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let start = Arc::new(Barrier::new(8));
        let workers: Vec<_> = (0..8)
            .map(|_| {
                let (turns, running, most, start) = (
                    Arc::clone(&turns),
                    Arc::clone(&running),
                    Arc::clone(&most),
                    Arc::clone(&start),
                );
                std::thread::spawn(move || {
                    start.wait();
                    let turn = turns.take()?;
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(200));
                    running.fetch_sub(1, Ordering::SeqCst);
                    drop(turn);
                    Ok::<(), RbacError>(())
                })
            })
            .collect();
        let outcomes: Vec<Result<()>> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        let refused: Vec<&RbacError> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
        assert_eq!(
            outcomes.len() - refused.len(),
            5,
            "2 running and 3 waiting get a turn"
        );
        assert_eq!(most.load(Ordering::SeqCst), 2, "never more than 2 at once");
        for err in refused {
            assert_eq!(
                (err.code(), err.compatible_code()),
                (8, crate::error::LegacyCode::RateLimit)
            );
            assert!(
                err.to_string()
                    .starts_with("rate limit exceeded: too many password checks"),
                "{err}"
            );
        }
        assert_eq!(*turns.counts(), (0, 0), "every turn given back");

        // A waiter that gets no turn in time is refused too.
        let impatient = Turns::new(1, 4, Duration::from_millis(50));
        one_turn_then_refused_until_it_is_back(&impatient);
    }

    /// `turns` gives one turn, refuses the next while it is held, and gives one again once it is back.
    fn one_turn_then_refused_until_it_is_back(turns: &Turns) {
        let held = turns.take().unwrap();
        assert!(matches!(turns.take(), Err(RbacError::RateLimited { .. })));
        drop(held);
        assert!(turns.take().is_ok());
    }

    /// A stored hash is an argon2id PHC string with its salt and digest, or bcrypt up to cost 12.
    #[test]
    fn only_complete_argon2id_strings_and_cheap_enough_bcrypt_are_stored() {
        let good = PasswordHasher::new(HashStrength::Fast)
            .hash("secret")
            .unwrap();
        let mut parts = good.rsplitn(3, '$');
        let (digest, salt) = (parts.next().unwrap(), parts.next().unwrap());
        let argon2 = |algorithm: &str, tail: &str| format!("${algorithm}$v=19$m=64,t=1,p=1${tail}");
        assert_eq!(
            check_stored_hash(&argon2("argon2id", &format!("{salt}${digest}"))),
            Ok(())
        );
        let not_ours = "is neither an argon2id PHC string nor a bcrypt hash";
        for refused in [
            argon2("argon2i", &format!("{salt}${digest}")),
            argon2("argon2id", salt),
            "$argon2id$v=19$m=64,t=1,p=1".to_string(),
        ] {
            assert_eq!(
                check_stored_hash(&refused),
                Err(not_ours.to_string()),
                "{refused}"
            );
        }
        let bcrypt = bcrypt::hash("secret", 4).unwrap();
        assert_eq!(
            check_stored_hash(&bcrypt.replacen("$04$", "$12$", 1)),
            Ok(())
        );
        assert_eq!(
            check_stored_hash(&bcrypt.replacen("$04$", "$13$", 1)),
            Err("asks for bcrypt cost 13 beyond the accepted 12".to_string())
        );
    }

    /// With no bound given, as many runs as CPUs go at once; a free turn is taken at once even where no run may
    /// wait.
    #[test]
    fn free_turns_are_one_per_cpu_and_need_no_queue() {
        let per_cpu = Turns::new(0, 0, Duration::from_millis(50));
        let cpus = std::thread::available_parallelism().unwrap().get();
        let held: Vec<_> = (0..cpus).map(|_| per_cpu.take().unwrap()).collect();
        assert!(matches!(per_cpu.take(), Err(RbacError::RateLimited { .. })));
        drop(held);
        assert_eq!(*per_cpu.counts(), (0, 0));
        one_turn_then_refused_until_it_is_back(&Turns::new(1, 0, Duration::from_secs(10)));
    }

    /// Stored hashes are bounded: a restore cannot plant one whose next login asks for gigabytes, and one
    /// already stored is never run (it costs a decoy verification and matches nothing).
    #[test]
    fn hashes_beyond_the_cost_bounds_are_refused_and_never_run() {
        let hasher = PasswordHasher::new(HashStrength::Fast);
        let good = hasher.hash("secret").unwrap();
        assert_eq!(check_stored_hash(&good), Ok(()));
        let greedy = good.replace("m=64,t=1,p=1", "m=4194304,t=1,p=1");
        assert!(check_stored_hash(&greedy)
            .unwrap_err()
            .contains("m=4194304"));
        for (costs, what) in [("m=64,t=100,p=1", "t=100"), ("m=1024,t=1,p=64", "p=64")] {
            let hash = good.replace("m=64,t=1,p=1", costs);
            assert!(
                check_stored_hash(&hash).unwrap_err().contains(what),
                "{costs}"
            );
        }
        assert!(check_stored_hash("$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g").is_err());
        assert!(check_stored_hash("not a hash").is_err());
        let before = counters::runs();
        assert_eq!(hasher.verify("secret", &greedy).unwrap(), Verified::No);
        assert_eq!(
            counters::runs(),
            (before.0, before.1 + 1),
            "one decoy verification"
        );
    }

    /// A wrong password against a hash cheaper than the configured one also costs a full verification, so
    /// that users restored with cheap hashes cannot be told apart by how fast they refuse.
    #[test]
    fn wrong_passwords_against_cheaper_hashes_cost_a_full_verification() {
        let cheap = PasswordHasher::new(HashStrength::Fast)
            .hash("secret")
            .unwrap();
        let strong = PasswordHasher::new(HashStrength::Strong);
        let before = counters::runs();
        assert_eq!(strong.verify("wrong", &cheap).unwrap(), Verified::No);
        assert_eq!(
            counters::runs(),
            (before.0, before.1 + 2),
            "the cheap run and a full decoy"
        );
    }
}

#[cfg(test)]
mod bcrypt_tests {
    use super::*;

    #[test]
    fn milvus_bcrypt_hashes_verify_and_ask_for_an_upgrade() {
        let hasher = PasswordHasher::new(HashStrength::Fast);
        // As Go's bcrypt writes them ($2a$), at a low cost to keep the test quick.
        let stored = bcrypt::hash_with_result("P@ssw0rd", 4)
            .unwrap()
            .format_for_version(bcrypt::Version::TwoA);
        assert!(stored.starts_with("$2a$04$"));
        assert_eq!(check_stored_hash(&stored), Ok(()));
        assert_eq!(
            hasher.verify("P@ssw0rd", &stored).unwrap(),
            Verified::Yes { rehash: true }
        );
        assert_eq!(hasher.verify("P@ssw0rD", &stored).unwrap(), Verified::No);
        assert!(hasher.needs_rehash(&stored));
    }

    #[test]
    fn no_password_is_kept_and_matches_nothing() {
        assert_eq!(check_stored_hash(NO_PASSWORD), Ok(()));
        let hasher = PasswordHasher::new(HashStrength::Fast);
        for guess in ["", "!", "P@ssw0rd"] {
            assert_eq!(hasher.verify(guess, NO_PASSWORD).unwrap(), Verified::No);
        }
    }

    #[test]
    fn bcrypt_hashes_beyond_the_cost_bound_or_malformed_are_refused() {
        let costly = "$2a$13$abcdefghijklmnopqrstuu5K6qD5aS9lU2ZxWdXNQ1cYcxV7uxR.i";
        assert!(check_stored_hash(costly).unwrap_err().contains("cost 13"));
        assert!(check_stored_hash("$2a$10$short").is_err());
        let hasher = PasswordHasher::new(HashStrength::Fast);
        // Verifying against one costs no bcrypt run at that cost: it is refused as no match.
        assert_eq!(hasher.verify("x", costly).unwrap(), Verified::No);
    }
}
