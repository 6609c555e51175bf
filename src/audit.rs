//! The audit trail: one record per change, denial and failed login, chained by hashes.
//!
//! Each record holds the hash of the record before it, and its own hash covers that and everything it says:
//! editing a record breaks its hash, removing one breaks the chain or the bounds the store keeps beside the
//! records (`Chain`: the first and last sequence numbers and the last hash). Trimming to the retention bound
//! drops the oldest records and moves `first`; the oldest kept record's `prev` is then taken as given.
//!
//! This detects edits by anyone who does not rewrite the chain from the edit onwards (and its bounds): the
//! hash is not keyed. Keeping the last hash elsewhere (`milvus-rbac audit --verify` prints it) closes that.
//!
//! A record is one line of text, the same in every store and in the hash: tab-separated fields, each
//! percent-encoded where it holds `%`, a tab, a line break, `&` or `=`.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};

use crate::error::{RbacError, Result};

/// The format's tag, first on every line: a later format gets another.
const FORMAT: &str = "a1";
/// The hash before the first record a registry ever wrote.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Records a registry keeps unless told otherwise.
pub const DEFAULT_RETENTION: u64 = 100_000;
/// The most of one field a record keeps: a 10 MB name sent by a hostile client is refused, and its record must
/// not cost 10 MB. Longer text is cut, and says so.
pub const MAX_FIELD_BYTES: usize = 1024;

/// `text`, cut to `MAX_FIELD_BYTES` (at a character boundary) with a note of its whole length.
fn bounded(text: &str) -> String {
    if text.len() <= MAX_FIELD_BYTES {
        return text.to_string();
    }
    let mut end = MAX_FIELD_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... (cut: {} bytes in all)", &text[..end], text.len())
}

/// How an audited call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The change was made (it is in the same transaction as this record).
    Done,
    /// The change was refused by a rule (nothing changed).
    Failed,
    /// The caller lacked the privilege (nothing ran).
    Denied,
    /// The credentials were wrong.
    LoginFailed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "ok",
            Outcome::Failed => "error",
            Outcome::Denied => "denied",
            Outcome::LoginFailed => "login_failed",
        }
    }

    fn parse(text: &str) -> Option<Outcome> {
        [
            Outcome::Done,
            Outcome::Failed,
            Outcome::Denied,
            Outcome::LoginFailed,
        ]
        .into_iter()
        .find(|outcome| outcome.as_str() == text)
    }
}

/// What happened: who, when, which operation, on what, and how it ended. Never a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// Who called (for a failed login, the name given); `""` when nobody was named.
    pub user: String,
    /// The caller's database.
    pub db_name: String,
    /// The operation's name (`create_role`), or `login`.
    pub operation: String,
    /// The operation's arguments that say what it acted on, by name (no password, no client option).
    pub target: Vec<(String, String)>,
    pub outcome: Outcome,
    /// Milvus's code of the error; 0 when done.
    pub code: i32,
    /// The error's message; `""` when done.
    pub message: String,
}

impl AuditEntry {
    /// An entry stamped now.
    pub fn now(user: &str, db_name: &str, operation: &str) -> AuditEntry {
        let at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as i64);
        AuditEntry {
            at_ms,
            user: bounded(user),
            db_name: bounded(db_name),
            operation: operation.to_string(),
            target: Vec::new(),
            outcome: Outcome::Done,
            code: 0,
            message: String::new(),
        }
    }

    /// This entry, about `target` (argument names and values).
    pub fn with_target(mut self, target: Vec<(String, String)>) -> AuditEntry {
        self.target = target
            .into_iter()
            .map(|(name, value)| (name, bounded(&value)))
            .collect();
        self
    }

    /// This entry, ended by `err`.
    pub fn ended_by(mut self, outcome: Outcome, err: &RbacError) -> AuditEntry {
        self.outcome = outcome;
        self.code = err.code();
        self.message = bounded(&err.to_string());
        self
    }
}

/// A record of the trail: an entry with its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub seq: u64,
    pub entry: AuditEntry,
    /// The hash of the record before (`GENESIS` for a registry's first).
    pub prev: String,
    /// The hash of this record: of its line up to here.
    pub hash: String,
}

/// Where a trail stands: kept by the store beside the records, and changed in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// The oldest kept record's number (`last + 1` while none is kept).
    pub first: u64,
    /// The newest record's number; 0 before the first.
    pub last: u64,
    /// The newest record's hash (`GENESIS` before the first).
    pub head: String,
}

impl Default for Chain {
    fn default() -> Chain {
        Chain {
            first: 1,
            last: 0,
            head: GENESIS.to_string(),
        }
    }
}

impl Chain {
    /// Chain `entry` on: the new record, and the numbers of the records that retention `keep` now drops
    /// (`first..new first`).
    pub fn append(&mut self, entry: AuditEntry, keep: u64) -> (AuditRecord, std::ops::Range<u64>) {
        let seq = self.last + 1;
        let prev = std::mem::take(&mut self.head);
        let hash = hash_of(&unhashed_line(seq, &entry, &prev));
        self.last = seq;
        self.head = hash.clone();
        let first_kept = (seq + 1).saturating_sub(keep.max(1)).max(self.first);
        let dropped = self.first..first_kept;
        self.first = first_kept;
        (
            AuditRecord {
                seq,
                entry,
                prev,
                hash,
            },
            dropped,
        )
    }

    /// The bounds as one line (the stores keep them as text).
    pub fn encode(&self) -> String {
        format!("{FORMAT}\t{}\t{}\t{}", self.first, self.last, self.head)
    }

    pub fn decode(line: &str) -> Result<Chain> {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            [FORMAT, first, last, head] => match (first.parse(), last.parse()) {
                (Ok(first), Ok(last)) => Some(Chain {
                    first,
                    last,
                    head: head.to_string(),
                }),
                _ => None,
            },
            _ => None,
        }
        .ok_or_else(|| unreadable("the audit trail's bounds", line))
    }
}

fn unreadable(what: &str, line: &str) -> RbacError {
    RbacError::Storage {
        message: format!(
            "{what} are unreadable: {:?}",
            line.chars().take(120).collect::<String>()
        ),
    }
}

fn hash_of(text: &str) -> String {
    let digest = Blake2b::<U32>::digest(text.as_bytes());
    digest
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// Percent-encode what would break a line apart.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '%' | '\t' | '\n' | '\r' | '&' | '=' => {
                let _ = write!(out, "%{:02X}", ch as u32);
            }
            other => out.push(other),
        }
    }
    out
}

fn unescape(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = text.get(at + 1..at + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn unhashed_line(seq: u64, entry: &AuditEntry, prev: &str) -> String {
    let target = entry
        .target
        .iter()
        .map(|(name, value)| format!("{}={}", escape(name), escape(value)))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{FORMAT}\t{seq}\t{}\t{}\t{}\t{}\t{target}\t{}\t{}\t{}\t{prev}",
        entry.at_ms,
        escape(&entry.user),
        escape(&entry.db_name),
        escape(&entry.operation),
        entry.outcome.as_str(),
        entry.code,
        escape(&entry.message),
    )
}

impl AuditRecord {
    /// The record as its stored line.
    pub fn encode(&self) -> String {
        format!(
            "{}\t{}",
            unhashed_line(self.seq, &self.entry, &self.prev),
            self.hash
        )
    }

    /// A stored line as a record (not checked: see [`verify`]).
    pub fn decode(line: &str) -> Result<AuditRecord> {
        let fields: Vec<&str> = line.split('\t').collect();
        let record = match fields.as_slice() {
            [FORMAT, seq, at_ms, user, db_name, operation, target, outcome, code, message, prev, hash] =>
            {
                let target = if target.is_empty() {
                    Some(Vec::new())
                } else {
                    target
                        .split('&')
                        .map(|pair| {
                            let (name, value) = pair.split_once('=')?;
                            Some((unescape(name)?, unescape(value)?))
                        })
                        .collect()
                };
                (|| {
                    Some(AuditRecord {
                        seq: seq.parse().ok()?,
                        entry: AuditEntry {
                            at_ms: at_ms.parse().ok()?,
                            user: unescape(user)?,
                            db_name: unescape(db_name)?,
                            operation: unescape(operation)?,
                            target: target?,
                            outcome: Outcome::parse(outcome)?,
                            code: code.parse().ok()?,
                            message: unescape(message)?,
                        },
                        prev: prev.to_string(),
                        hash: hash.to_string(),
                    })
                })()
            }
            _ => None,
        };
        record.ok_or_else(|| unreadable("audit records", line))
    }
}

/// A trail as a store holds it: its bounds and its records, read together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditLog {
    pub chain: Chain,
    /// Oldest first; each as its stored line with its number (the number the store keeps it under).
    pub lines: Vec<(u64, String)>,
}

/// What `--verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// The records checked.
    pub records: u64,
    pub first: u64,
    pub last: u64,
    /// The newest record's hash, as the bounds give it: note it elsewhere to detect a rewritten chain.
    pub head: String,
    /// The first problem found; `None` when the trail is intact.
    pub problem: Option<String>,
}

/// Check every record's hash, the links between them, and that they are exactly the records the bounds say.
pub fn verify(log: &AuditLog) -> Verification {
    let chain = &log.chain;
    let mut verification = Verification {
        records: log.lines.len() as u64,
        first: chain.first,
        last: chain.last,
        head: chain.head.clone(),
        problem: None,
    };
    verification.problem = find_problem(log).err();
    verification
}

fn find_problem(log: &AuditLog) -> std::result::Result<(), String> {
    let chain = &log.chain;
    let expected = chain.last + 1 - chain.first.min(chain.last + 1);
    let mut prev: Option<String> = None;
    for (at, (key, line)) in log.lines.iter().enumerate() {
        let seq = chain.first + at as u64;
        if *key != seq {
            return Err(format!(
                "record {seq} is missing (found record {key} in its place)"
            ));
        }
        let record = AuditRecord::decode(line).map_err(|err| format!("record {seq}: {err}"))?;
        if record.seq != seq {
            return Err(format!(
                "record {seq} says it is record {}: it was moved or edited",
                record.seq
            ));
        }
        if hash_of(&unhashed_line(record.seq, &record.entry, &record.prev)) != record.hash {
            return Err(format!(
                "record {seq} was edited: its hash does not match its content"
            ));
        }
        if let Some(prev) = &prev {
            if *prev != record.prev {
                return Err(format!(
                    "record {seq} does not follow record {}: the chain is broken",
                    seq - 1
                ));
            }
        }
        prev = Some(record.hash);
    }
    if log.lines.len() as u64 != expected {
        return Err(format!(
            "the trail should hold records {} to {} ({expected}), but holds {}: records were removed or added",
            chain.first,
            chain.last,
            log.lines.len()
        ));
    }
    // (An emptied trail failed the count above: its bounds still say what it should hold.)
    match prev {
        Some(last) if last != chain.head => Err(format!(
            "the newest record's hash is not the one recorded for record {}: the trail was changed",
            chain.last
        )),
        _ => Ok(()),
    }
}

/// `at_ms` as UTC in ISO 8601, to the millisecond.
pub fn iso_time(at_ms: i64) -> String {
    let (days, ms) = (at_ms.div_euclid(86_400_000), at_ms.rem_euclid(86_400_000));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(user: &str, message: &str) -> AuditEntry {
        AuditEntry {
            at_ms: 1_764_825_922_123,
            user: user.to_string(),
            db_name: "default".into(),
            operation: "grant_role".into(),
            target: vec![
                ("user_name".into(), "a&b=c%\t\n".into()),
                ("role_name".into(), "".into()),
            ],
            outcome: Outcome::Failed,
            code: 65535,
            message: message.to_string(),
        }
    }

    fn log_of(n: usize, keep: u64) -> AuditLog {
        let mut log = AuditLog::default();
        for at in 0..n {
            let (record, dropped) = log
                .chain
                .append(entry(&format!("u{at}"), "no\tsuch role"), keep);
            log.lines.retain(|(seq, _)| !dropped.contains(seq));
            log.lines.push((record.seq, record.encode()));
        }
        log
    }

    #[test]
    fn records_round_trip_through_their_line() {
        let mut chain = Chain::default();
        let (record, dropped) = chain.append(entry("ü ser", "a\r\nb%"), 10);
        assert!(dropped.is_empty());
        assert_eq!(AuditRecord::decode(&record.encode()).unwrap(), record);
        assert_eq!(record.encode().lines().count(), 1);
        assert_eq!(Chain::decode(&chain.encode()).unwrap(), chain);
        assert!(AuditRecord::decode("a1\tx").is_err());
        assert!(AuditRecord::decode(&record.encode().replace("%0A", "%G")).is_err());
    }

    #[test]
    fn an_intact_trail_verifies_and_retention_keeps_the_newest() {
        let log = log_of(7, 3);
        assert_eq!(log.chain.first, 5);
        assert_eq!(
            log.lines.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
            [5, 6, 7]
        );
        let verification = verify(&log);
        assert_eq!(verification.problem, None);
        assert_eq!(
            (verification.records, verification.first, verification.last),
            (3, 5, 7)
        );
        assert_eq!(verify(&AuditLog::default()).problem, None);
    }

    #[test]
    fn edits_removals_and_reorders_are_found() {
        let log = log_of(5, 100);
        let problem = |log: &AuditLog| verify(log).problem.unwrap_or_default();

        let mut edited = log.clone();
        edited.lines[2].1 = edited.lines[2].1.replace("u2", "u9");
        assert!(
            problem(&edited).contains("record 3 was edited"),
            "{}",
            problem(&edited)
        );

        let mut middle = log.clone();
        middle.lines.remove(1);
        assert!(problem(&middle).contains("record 2 is missing"));

        let mut newest = log.clone();
        newest.lines.pop();
        assert!(problem(&newest).contains("holds 4"), "{}", problem(&newest));

        let mut oldest = log.clone();
        oldest.lines.remove(0);
        assert!(problem(&oldest).contains("record 1 is missing"));

        // A record rewritten with a fresh hash of its own still breaks the link to the next.
        let mut rehashed = log.clone();
        let mut record = AuditRecord::decode(&rehashed.lines[1].1).unwrap();
        record.entry.user = "someone else".into();
        record.hash = hash_of(&unhashed_line(record.seq, &record.entry, &record.prev));
        rehashed.lines[1].1 = record.encode();
        assert!(
            problem(&rehashed).contains("record 3 does not follow"),
            "{}",
            problem(&rehashed)
        );

        let mut emptied = log.clone();
        emptied.lines.clear();
        assert!(
            problem(&emptied).contains("holds 0"),
            "{}",
            problem(&emptied)
        );

        // The bounds' newest hash edited alone.
        let mut headless = log.clone();
        headless.chain.head = GENESIS.to_string();
        assert!(
            problem(&headless)
                .contains("newest record's hash is not the one recorded for record 5"),
            "{}",
            problem(&headless)
        );

        let mut swapped = log;
        swapped.lines.swap(0, 1);
        assert!(!problem(&swapped).is_empty());
    }

    #[test]
    fn long_fields_are_cut_and_say_so() {
        let huge = "é".repeat(3000);
        let err = RbacError::Param {
            message: huge.clone(),
        };
        let entry = AuditEntry::now(&huge, "default", "login")
            .with_target(vec![("user_name".into(), huge.clone())])
            .ended_by(Outcome::LoginFailed, &err);
        for field in [&entry.user, &entry.target[0].1, &entry.message] {
            assert!(field.len() < MAX_FIELD_BYTES + 40, "{}", field.len());
            assert!(field.ends_with("... (cut: 6000 bytes in all)"), "{field}");
        }
        assert_eq!(bounded("short"), "short");
        // A limit inside a character cuts before it: 341 three-byte characters, 1023 bytes.
        let cut = bounded(&"€".repeat(1000));
        assert_eq!(
            cut,
            format!("{}... (cut: 3000 bytes in all)", "€".repeat(341))
        );
    }

    #[test]
    fn times_are_utc_iso_8601() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_time(1_764_825_922_123), "2025-12-04T05:25:22.123Z");
        assert_eq!(iso_time(951_782_400_000), "2000-02-29T00:00:00.000Z");
        // Century years: 2100 is no leap year, 2400 is; before the epoch counts back.
        assert_eq!(iso_time(4_107_542_399_999), "2100-02-28T23:59:59.999Z");
        assert_eq!(iso_time(4_107_542_400_000), "2100-03-01T00:00:00.000Z");
        assert_eq!(iso_time(13_574_606_400_000), "2400-02-29T12:00:00.000Z");
        assert_eq!(iso_time(951_868_800_000), "2000-03-01T00:00:00.000Z");
        assert_eq!(iso_time(1_735_689_599_999), "2024-12-31T23:59:59.999Z");
        assert_eq!(iso_time(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(iso_time(-2_203_891_200_000), "1900-03-01T00:00:00.000Z");
    }
}
