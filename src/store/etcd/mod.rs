//! The etcd store: a registry kept in etcd, where Milvus keeps this metadata, shared by any number of
//! processes on any number of machines.
//!
//! Each process holds the registry in memory (the in-memory store, built from the records under the prefix)
//! together with the revision of the `head` key it was read at. Every call first reads `head` (one
//! linearizable read: a quorum has it, so a change acknowledged anywhere is seen), and reads the records again
//! only when `head` moved: a change made through any server is enforced at the next call everywhere, with no
//! cache delay. (A watch would save that read, but its events arrive after the change, so a call could still
//! see the old state; the read is what makes "at the next call" hold.)
//!
//! A write runs the rules on the in-memory state, then commits the records it changed as one etcd
//! transaction that also rewrites `head`, on condition that `head` is still at the revision the state was
//! read at (optimistic concurrency): writers on different machines are serialised, and a writer that lost the
//! race reads the new state and runs its work again. Limits, memberships of dropped roles, a grant racing a
//! drop: every rule is checked against the state the transaction commits on. A transaction too large for one
//! etcd request (over `MAX_TXN_OPS` records, or `MAX_TXN_BYTES`: a restore, say) writes the whole registry
//! under a new generation first, invisible until the same conditional rewrite of `head` switches to it (and
//! removes the old generation).
//!
//! Optimistic writers can starve: a server whose own commits keep its state current wins every race against
//! one that must read the records again first. A writer that lost `LOSSES_BEFORE_TURN` races takes the
//! registry's turn (the `turn` key, on a short lease): while it holds it, every other commit's condition
//! fails and its writer waits, and its own commit deletes the key.

mod client;
mod keys;
#[cfg(test)]
pub(super) mod testing;
#[cfg(test)]
mod tests;

#[allow(clippy::all, missing_docs)]
mod pb {
    include!(concat!(env!("OUT_DIR"), "/etcdserverpb.rs"));
}

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::memory::{Committing, MemoryStore};
use super::{EtcdLocation, Location, ReadTx, Store, Version, WriteTx};
use crate::audit::{AuditLog, Chain};
use crate::client_tls::ClientTls;
use crate::error::{RbacError, Result};
use client::{CallError, EtcdClient};
use keys::Head;
use pb::compare::{CompareResult, CompareTarget, TargetUnion};
use pb::request_op::Request as Op;
use pb::{
    Compare, DeleteRangeRequest, LeaseGrantRequest, PutRequest, RangeRequest, RangeResponse,
    RequestOp, TxnRequest,
};

/// etcd refuses a transaction of more operations than this by default (`--max-txn-ops`).
const MAX_TXN_OPS: usize = 128;
/// etcd refuses a request larger than 1.5 MiB by default (`--max-request-bytes`); this leaves room.
const MAX_TXN_BYTES: usize = 1024 * 1024;
/// Records per page when reading a registry, and per transaction when writing a new generation.
const PAGE: usize = 1000;
/// How many races a writer loses to other servers before it takes the turn.
const LOSSES_BEFORE_TURN: u32 = 2;
/// How long a turn lasts unless its holder commits first (an etcd lease, so that a holder that dies frees it).
const TURN_SECONDS: i64 = 2;
/// How many times a read starts again after etcd compacted away the revision it read at.
const COMPACTION_RETRIES: u32 = 3;

/// The retries one read has had because etcd compacted the revision it read at, under way.
#[derive(Default)]
struct CompactionRetries(u32);

impl CompactionRetries {
    /// Whether the read that failed with `err` starts again: the revision it read at was compacted away
    /// meanwhile, and it has retries left (counting this one).
    fn again(&mut self, err: &CallError) -> bool {
        let compacted = matches!(err, CallError::Refused(detail) if detail.contains("compacted"));
        let again = compacted && self.0 < COMPACTION_RETRIES;
        self.0 += u32::from(again);
        again
    }
}

/// How to reach etcd beyond its addresses: never in the URI, which gets logged and shown.
#[derive(Debug, Clone)]
pub struct EtcdOptions {
    /// etcd's own user and password (`MILVUS_RBAC_ETCD_USER`, `MILVUS_RBAC_ETCD_PASSWORD` or
    /// `MILVUS_RBAC_ETCD_PASSWORD_FILE`).
    pub user: Option<(String, String)>,
    /// TLS to every member, when the CA that signed their certificates (`MILVUS_RBAC_ETCD_CA`) or a client
    /// certificate and key for etcd's certificate authentication (`MILVUS_RBAC_ETCD_CERT`, `MILVUS_RBAC_ETCD_KEY`)
    /// are given.
    pub tls: Option<ClientTls>,
    /// How long one request may take, over every member (`MILVUS_RBAC_ETCD_TIMEOUT`, seconds; 5).
    pub timeout: Duration,
}

impl EtcdOptions {
    /// The options from the environment.
    pub fn from_env() -> Result<EtcdOptions> {
        EtcdOptions::from_vars(|name| std::env::var(name).ok())
    }

    /// The options from `lookup`, which gives a variable's value by its name; an empty value counts as unset.
    fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<EtcdOptions> {
        let var = |name: &str| lookup(name).filter(|value| !value.is_empty());
        let password = match (
            var("MILVUS_RBAC_ETCD_PASSWORD"),
            var("MILVUS_RBAC_ETCD_PASSWORD_FILE"),
        ) {
            (Some(password), _) => Some(password),
            (None, Some(path)) => Some(
                std::fs::read_to_string(&path)
                    .map_err(|err| RbacError::Param {
                        message: format!(
                            "cannot read MILVUS_RBAC_ETCD_PASSWORD_FILE {path}: {err}"
                        ),
                    })?
                    .trim_end_matches(['\r', '\n'])
                    .to_string(),
            ),
            (None, None) => None,
        };
        let user = match (var("MILVUS_RBAC_ETCD_USER"), password) {
            (Some(user), Some(password)) => Some((user, password)),
            (None, None) => None,
            _ => {
                return Err(RbacError::Param {
                    message: "etcd's password auth needs both MILVUS_RBAC_ETCD_USER and \
                              MILVUS_RBAC_ETCD_PASSWORD (or MILVUS_RBAC_ETCD_PASSWORD_FILE)"
                        .into(),
                })
            }
        };
        let timeout = match var("MILVUS_RBAC_ETCD_TIMEOUT") {
            None => Duration::from_secs(5),
            Some(text) => text
                .parse::<f64>()
                .ok()
                .filter(|seconds| *seconds > 0.0)
                .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
                .ok_or_else(|| RbacError::Param {
                    message: format!(
                        "MILVUS_RBAC_ETCD_TIMEOUT must be a positive number of seconds, not {text:?}"
                    ),
                })?,
        };
        let tls = ClientTls {
            ca_pem: var("MILVUS_RBAC_ETCD_CA").map(PathBuf::from),
            client_pem: var("MILVUS_RBAC_ETCD_CERT").map(PathBuf::from),
            client_key: var("MILVUS_RBAC_ETCD_KEY").map(PathBuf::from),
            server_name: None,
        };
        if tls.client_pem.is_some() != tls.client_key.is_some() {
            return Err(RbacError::Param {
                message: "etcd's client certificate needs both MILVUS_RBAC_ETCD_CERT and MILVUS_RBAC_ETCD_KEY"
                    .into(),
            });
        }
        Ok(EtcdOptions {
            user,
            tls: (tls != ClientTls::default()).then_some(tls),
            timeout,
        })
    }
}

/// The registry as last read: `head` (absent for a registry not created yet), its revision, and the records.
#[derive(Debug)]
struct Cached {
    /// `head`'s `mod_revision`; 0 while there is no `head`.
    head_revision: i64,
    head: Option<Head>,
    memory: Arc<MemoryStore>,
}

/// A registry under one prefix of one etcd cluster.
pub struct EtcdStore {
    location: Location,
    prefix: String,
    client: EtcdClient,
    cached: Mutex<Arc<Cached>>,
    /// One writer at a time in this process: writers here never race each other, only other processes.
    writer: Mutex<()>,
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|err| RbacError::Storage {
        message: format!("no randomness for etcd transactions: {err}"),
    })?;
    Ok(bytes)
}

thread_local! {
    /// The state each store on this thread answers the current call from (see `Store::within_call`): read
    /// once when the call began, so that a call costs one look at `head`, not one per read.
    static PINS: RefCell<Vec<(usize, Arc<Cached>)>> = const { RefCell::new(Vec::new()) };
}

fn pinned(id: usize) -> Option<Arc<Cached>> {
    PINS.with(|pins| {
        pins.borrow()
            .iter()
            .find(|(pinned, _)| *pinned == id)
            .map(|(_, cached)| Arc::clone(cached))
    })
}

/// After the call's own commit: its reads see the state it committed.
fn repin(id: usize, cached: &Arc<Cached>) {
    PINS.with(|pins| {
        for (pinned, held) in pins.borrow_mut().iter_mut() {
            if *pinned == id {
                *held = Arc::clone(cached);
            }
        }
    });
}

/// A random identifier (generations, transactions, turns).
fn random_id() -> Result<String> {
    Ok(random_bytes::<12>()?
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

fn put(key: Vec<u8>, value: Vec<u8>) -> RequestOp {
    RequestOp {
        request: Some(Op::RequestPut(PutRequest {
            key,
            value,
            ..PutRequest::default()
        })),
    }
}

fn delete(key: Vec<u8>, range_end: Vec<u8>) -> RequestOp {
    RequestOp {
        request: Some(Op::RequestDeleteRange(DeleteRangeRequest {
            key,
            range_end,
            ..DeleteRangeRequest::default()
        })),
    }
}

/// The condition that `key` does not exist (a missing key's create revision is 0).
fn absent(key: Vec<u8>) -> Compare {
    Compare {
        result: CompareResult::Equal as i32,
        target: CompareTarget::Create as i32,
        key,
        target_union: Some(TargetUnion::CreateRevision(0)),
        ..Compare::default()
    }
}

fn size_of(op: &RequestOp) -> usize {
    match &op.request {
        Some(Op::RequestPut(put)) => put.key.len() + put.value.len() + 16,
        Some(Op::RequestDeleteRange(delete)) => delete.key.len() + delete.range_end.len() + 16,
        _ => 16,
    }
}

/// What reads each key and value of a range.
type KeyValueReader<'r> = dyn FnMut(&[u8], &[u8]) -> Result<()> + 'r;

/// How a commit went.
enum Commit {
    /// Applied: `head`'s new revision and content.
    Done(i64, Head),
    /// Another writer moved `head` first.
    Conflict,
}

impl EtcdStore {
    /// Connect to the cluster at `location` (no request is made until the first read).
    pub fn open(location: &EtcdLocation, options: &EtcdOptions) -> Result<EtcdStore> {
        let client = EtcdClient::connect(&location.endpoints, options)?;
        Ok(EtcdStore {
            location: Location::Etcd(location.clone()),
            prefix: location.prefix.clone(),
            client,
            cached: Mutex::new(Arc::new(Cached {
                head_revision: 0,
                head: None,
                memory: Arc::new(MemoryStore::new()),
            })),
            writer: Mutex::new(()),
        })
    }

    /// Remove every key under the registry's prefix.
    pub fn remove(location: &EtcdLocation, options: &EtcdOptions) -> Result<()> {
        let client = EtcdClient::connect(&location.endpoints, options)?;
        let (first, end) = keys::prefix_range(&location.prefix);
        client
            .txn(&TxnRequest {
                success: vec![delete(first, end)],
                ..TxnRequest::default()
            })
            .map_err(|err| err.into_storage(&client.shown))?;
        Ok(())
    }

    /// One key as it is now (a linearizable read): the answer, whose `kvs` holds it if it exists.
    fn get(&self, key: Vec<u8>) -> std::result::Result<RangeResponse, CallError> {
        self.client.range(&RangeRequest {
            key,
            ..RangeRequest::default()
        })
    }

    fn failure(&self, err: CallError) -> RbacError {
        err.into_storage(&self.client.shown)
    }

    /// What identifies this store among the pins of a thread.
    fn id(&self) -> usize {
        self as *const EtcdStore as usize
    }

    /// Make `state` the cached one, unless another thread here reached a later state meanwhile.
    fn keep_if_newer(&self, state: &Arc<Cached>) {
        let mut current = lock(&self.cached);
        if current.head_revision < state.head_revision {
            *current = Arc::clone(state);
        }
    }

    /// The state of the call this thread is in, if it is in one; else the registry as it stands now.
    fn refresh(&self) -> Result<Arc<Cached>> {
        match pinned(self.id()) {
            Some(cached) => Ok(cached),
            None => self.refresh_now(),
        }
    }

    /// The registry as it stands now: the cached state if `head` has not moved since it was read, else the
    /// records read again.
    fn refresh_now(&self) -> Result<Arc<Cached>> {
        let mut retries = CompactionRetries::default();
        loop {
            let answer = self
                .get(keys::head_key(&self.prefix))
                .map_err(|err| self.failure(err))?;
            let head_kv = answer.kvs.first();
            let head_revision = head_kv.map_or(0, |kv| kv.mod_revision);
            let cached = Arc::clone(&lock(&self.cached));
            if cached.head_revision == head_revision {
                return Ok(cached);
            }
            let at = answer.header.as_ref().map_or(0, |header| header.revision);
            let head = head_kv.map(|kv| Head::decode(&kv.value)).transpose()?;
            // Only the audit trail moved (a denial, a failed login): the records are as cached.
            if let (Some(new), Some(old)) = (&head, &cached.head) {
                if new.generation == old.generation && new.version == old.version {
                    let moved = Arc::new(Cached {
                        head_revision,
                        head: head.clone(),
                        memory: Arc::clone(&cached.memory),
                    });
                    self.keep_if_newer(&moved);
                    return Ok(moved);
                }
            }
            match self.load(head.as_ref(), at) {
                Ok(memory) => {
                    let loaded = Arc::new(Cached {
                        head_revision,
                        head,
                        memory: Arc::new(memory),
                    });
                    self.keep_if_newer(&loaded);
                    return Ok(loaded);
                }
                // The revision read at was compacted away meanwhile: read `head` again.
                Err(err) if retries.again(&err) => {}
                Err(err) => return Err(self.failure(err)),
            }
        }
    }

    /// Every key from `first` up to `end` with its value, as they were at revision `at`, a page at a time.
    fn range_paged(
        &self,
        first: Vec<u8>,
        end: Vec<u8>,
        at: i64,
        each: &mut KeyValueReader<'_>,
    ) -> std::result::Result<(), CallError> {
        let mut from = first;
        loop {
            let page = self.client.range(&RangeRequest {
                key: from,
                range_end: end.clone(),
                limit: PAGE as i64,
                revision: at,
                ..RangeRequest::default()
            })?;
            for kv in &page.kvs {
                each(&kv.key, &kv.value).map_err(|err| CallError::Refused(err.to_string()))?;
            }
            match page.kvs.last() {
                Some(last) if page.more => {
                    from = last.key.clone();
                    from.push(0);
                }
                _ => return Ok(()),
            }
        }
    }

    /// The records of `head`'s generation as they were at revision `at`.
    fn load(&self, head: Option<&Head>, at: i64) -> std::result::Result<MemoryStore, CallError> {
        let Some(head) = head else {
            return Ok(MemoryStore::new());
        };
        let (first, end) = keys::generation_range(&self.prefix, &head.generation);
        let mut records = Vec::new();
        self.range_paged(first.clone(), end, at, &mut |key, value| {
            records.push(keys::decode_record(&key[first.len()..], value)?);
            Ok(())
        })?;
        MemoryStore::loaded(head.version, records)
            .map_err(|err| CallError::Refused(err.to_string()))
    }

    /// The audit trail's bounds (from `head`) and its records, read at one revision.
    fn read_audit(&self) -> std::result::Result<AuditLog, CallError> {
        let answer = self.get(keys::head_key(&self.prefix))?;
        let chain = match answer.kvs.first() {
            Some(kv) => {
                Head::decode(&kv.value)
                    .map_err(|err| CallError::Refused(err.to_string()))?
                    .audit
            }
            None => Chain::default(),
        };
        let at = answer.header.as_ref().map_or(0, |header| header.revision);
        let (first, end) = keys::audit_range(&self.prefix);
        let mut lines = Vec::new();
        self.range_paged(first, end, at, &mut |key, value| {
            let seq = keys::audit_seq(&self.prefix, key)?;
            lines.push((seq, String::from_utf8_lossy(value).into_owned()));
            Ok(())
        })?;
        Ok(AuditLog { chain, lines })
    }

    /// Commit what `committing` changed on condition that `head` is still at `cached.head_revision`.
    fn commit(
        &self,
        cached: &Cached,
        committing: &Committing<'_>,
        turn: Option<&str>,
    ) -> Result<Commit> {
        let transaction = random_id()?;
        let generation = match &cached.head {
            Some(head) => head.generation.clone(),
            None => random_id()?,
        };
        let (audit_ops, audit) = self.audit_appends(cached, committing);
        let mut ops: Vec<RequestOp> = committing
            .changed()
            .iter()
            .map(|(key, value)| {
                let at = keys::record_key(&self.prefix, &generation, key);
                match value {
                    Some(value) => put(at, keys::record_value(value)),
                    None => delete(at, Vec::new()),
                }
            })
            .collect();
        ops.extend(audit_ops.iter().cloned());
        let bytes: usize = ops.iter().map(size_of).sum();
        if ops.len() + 1 > MAX_TXN_OPS || bytes > MAX_TXN_BYTES {
            return self.commit_generation(cached, committing, transaction, audit_ops, audit, turn);
        }
        let head = Head {
            generation,
            version: committing.version,
            transaction,
            audit,
        };
        ops.push(put(keys::head_key(&self.prefix), head.encode()));
        self.switch_head(cached, ops, head, turn)
    }

    /// The audit records `committing` appends, chained on from `cached`'s trail, as puts (and the deletes of
    /// the records retention drops), with the trail's new bounds.
    fn audit_appends(
        &self,
        cached: &Cached,
        committing: &Committing<'_>,
    ) -> (Vec<RequestOp>, Chain) {
        let mut chain = cached
            .head
            .as_ref()
            .map_or_else(Chain::default, |head| head.audit.clone());
        let mut ops = Vec::new();
        for (entry, keep) in committing.audit {
            let (record, dropped) = chain.append(entry.clone(), *keep);
            ops.push(put(
                keys::audit_key(&self.prefix, record.seq),
                record.encode().into_bytes(),
            ));
            if !dropped.is_empty() {
                ops.push(delete(
                    keys::audit_key(&self.prefix, dropped.start),
                    keys::audit_key(&self.prefix, dropped.end),
                ));
            }
        }
        (ops, chain)
    }

    /// Write the whole registry under a new generation, then switch `head` to it and remove the old one.
    fn commit_generation(
        &self,
        cached: &Cached,
        committing: &Committing<'_>,
        transaction: String,
        audit_ops: Vec<RequestOp>,
        audit: Chain,
        turn: Option<&str>,
    ) -> Result<Commit> {
        let generation = random_id()?;
        let (first, end) = keys::generation_range(&self.prefix, &generation);
        let written = self.write_generation(&generation, committing);
        let head = Head {
            generation,
            version: committing.version,
            transaction,
            audit,
        };
        let mut ops = audit_ops;
        ops.push(put(keys::head_key(&self.prefix), head.encode()));
        if let Some(old) = &cached.head {
            let (old_first, old_end) = keys::generation_range(&self.prefix, &old.generation);
            ops.push(delete(old_first, old_end));
        }
        let remove_new = || {
            // Never switched to: remove it (if this fails too, it stays, invisible).
            let _ = self.client.txn(&TxnRequest {
                success: vec![delete(first.clone(), end.clone())],
                ..TxnRequest::default()
            });
        };
        if let Err(err) = written {
            remove_new();
            return Err(err);
        }
        let outcome = self.switch_head(cached, ops, head, turn);
        // Not after an unknown outcome: the switch may still apply.
        if matches!(outcome, Ok(Commit::Conflict)) {
            remove_new();
        }
        outcome
    }

    fn write_generation(&self, generation: &str, committing: &Committing<'_>) -> Result<()> {
        let mut batch = Vec::new();
        let mut bytes = 0;
        let records = committing.records();
        for (at, (key, value)) in records.iter().enumerate() {
            let op = put(
                keys::record_key(&self.prefix, generation, key),
                keys::record_value(value),
            );
            bytes += size_of(&op);
            batch.push(op);
            if batch.len() == PAGE.min(MAX_TXN_OPS)
                || bytes > MAX_TXN_BYTES / 2
                || at + 1 == records.len()
            {
                self.client
                    .txn(&TxnRequest {
                        success: std::mem::take(&mut batch),
                        ..TxnRequest::default()
                    })
                    .map_err(|err| self.failure(err))?;
                bytes = 0;
            }
        }
        Ok(())
    }

    /// Apply `ops` (which rewrite `head` as `head`) if `head` is still at `cached.head_revision` and the turn
    /// is nobody's (or, holding `turn`, still ours: then the commit ends it).
    fn switch_head(
        &self,
        cached: &Cached,
        mut ops: Vec<RequestOp>,
        head: Head,
        turn: Option<&str>,
    ) -> Result<Commit> {
        let turn_key = keys::turn_key(&self.prefix);
        let turn_is_ours_or_free = match turn {
            Some(id) => {
                ops.push(delete(turn_key.clone(), Vec::new()));
                Compare {
                    result: CompareResult::Equal as i32,
                    target: CompareTarget::Value as i32,
                    key: turn_key,
                    target_union: Some(TargetUnion::Value(id.as_bytes().to_vec())),
                    ..Compare::default()
                }
            }
            None => absent(turn_key),
        };
        let request = TxnRequest {
            compare: vec![
                Compare {
                    result: CompareResult::Equal as i32,
                    target: CompareTarget::Mod as i32,
                    key: keys::head_key(&self.prefix),
                    target_union: Some(TargetUnion::ModRevision(cached.head_revision)),
                    ..Compare::default()
                },
                turn_is_ours_or_free,
            ],
            success: ops,
            ..TxnRequest::default()
        };
        // A member that fails mid-request makes the client send it to another: the condition on `head` lets
        // at most one of the sends apply.
        match self.client.txn(&request) {
            Ok(answer) if answer.succeeded => {
                let revision = answer.header.map_or(0, |header| header.revision);
                Ok(Commit::Done(revision, head))
            }
            Ok(_) => match self.committed(&head) {
                Ok(Some(revision)) => Ok(Commit::Done(revision, head)),
                Ok(None) => Ok(Commit::Conflict),
                Err(err) => Err(self.failure(err)),
            },
            Err(CallError::Unknown(detail)) => match self.committed(&head) {
                Ok(Some(revision)) => Ok(Commit::Done(revision, head)),
                // etcd may still apply it: the caller is told its outcome is unknown, never that it failed.
                _ => Err(RbacError::Storage {
                    message: format!(
                        "etcd at {}: the change may or may not have been applied (no answer: {detail})",
                        self.client.shown
                    ),
                }),
            },
            Err(err) => Err(self.failure(err)),
        }
    }

    /// `head`'s revision if it is the one `head` (a commit's) wrote: a send whose answer was lost, or an
    /// earlier send of the same request, applied it.
    fn committed(&self, head: &Head) -> std::result::Result<Option<i64>, CallError> {
        let answer = self.get(keys::head_key(&self.prefix))?;
        Ok(answer.kvs.first().and_then(|kv| {
            let now = Head::decode(&kv.value).ok()?;
            (now.transaction == head.transaction).then_some(kv.mod_revision)
        }))
    }
}

impl EtcdStore {
    /// Take the registry's turn, if nobody holds it: a `turn` key on a lease of `TURN_SECONDS`.
    fn take_turn(&self) -> Result<Option<String>> {
        let lease = self
            .client
            .lease_grant(&LeaseGrantRequest {
                ttl: TURN_SECONDS,
                ..LeaseGrantRequest::default()
            })
            .map_err(|err| self.failure(err))?;
        let id = random_id()?;
        let turn_key = keys::turn_key(&self.prefix);
        let taken = self
            .client
            .txn(&TxnRequest {
                compare: vec![absent(turn_key.clone())],
                success: vec![RequestOp {
                    request: Some(Op::RequestPut(PutRequest {
                        key: turn_key,
                        value: id.clone().into_bytes(),
                        lease: lease.id,
                        ..PutRequest::default()
                    })),
                }],
                ..TxnRequest::default()
            })
            .map_err(|err| self.failure(err))?;
        Ok(taken.succeeded.then_some(id))
    }

    /// Whether the turn is still `id` (it ends when its lease does).
    fn holds_turn(&self, id: &str) -> Result<bool> {
        let answer = self
            .get(keys::turn_key(&self.prefix))
            .map_err(|err| self.failure(err))?;
        Ok(answer
            .kvs
            .first()
            .is_some_and(|kv| kv.value == id.as_bytes()))
    }
}

impl Store for EtcdStore {
    fn location(&self) -> &Location {
        &self.location
    }

    fn is_read_only(&self) -> bool {
        false
    }

    fn within_call(&self, run: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        let id = self.id();
        if pinned(id).is_some() {
            return run();
        }
        let cached = self.refresh_now()?;
        PINS.with(|pins| pins.borrow_mut().push((id, cached)));
        // Unpinned however `run` ends (a panic unwinding through it included).
        struct Unpin(usize);
        impl Drop for Unpin {
            fn drop(&mut self) {
                PINS.with(|pins| pins.borrow_mut().retain(|(id, _)| *id != self.0));
            }
        }
        let _unpin = Unpin(id);
        run()
    }

    fn version(&self) -> Result<Version> {
        self.refresh()?.memory.version()
    }

    fn audit_log(&self) -> Result<AuditLog> {
        let mut retries = CompactionRetries::default();
        loop {
            match self.read_audit() {
                Err(err) if retries.again(&err) => {}
                outcome => return outcome.map_err(|err| self.failure(err)),
            }
        }
    }

    fn read_with(&self, work: &mut dyn FnMut(&dyn ReadTx) -> Result<()>) -> Result<()> {
        self.refresh()?.memory.read_with(work)
    }

    fn write_with(&self, work: &mut dyn FnMut(&mut dyn WriteTx) -> Result<()>) -> Result<()> {
        let _writer = lock(&self.writer);
        // Long enough for every turn ahead of ours to end, even by expiry.
        let deadline =
            Instant::now() + self.client.timeout * 4 + Duration::from_secs(TURN_SECONDS as u64 * 2);
        let mut lost = 0;
        let mut turn: Option<String> = None;
        loop {
            if lost >= LOSSES_BEFORE_TURN && turn.is_none() {
                turn = self.take_turn()?;
            }
            // The call's state first (current when the call began); after a lost race, the newer one.
            let cached = if lost == 0 {
                let pinned = self.refresh()?;
                // Another thread here may have committed since: its state is the newer guess.
                let current = Arc::clone(&lock(&self.cached));
                if current.head_revision > pinned.head_revision {
                    current
                } else {
                    pinned
                }
            } else {
                self.refresh_now()?
            };
            let mut outcome = None;
            cached
                .memory
                .write_committing(work, &mut |committing| {
                    let commit = self.commit(&cached, committing, turn.as_deref())?;
                    let done = matches!(commit, Commit::Done(..));
                    outcome = Some(commit);
                    if done {
                        Ok(())
                    } else {
                        // Undone here; run again on the state that won.
                        Err(RbacError::Storage {
                            message: "conflict".into(),
                        })
                    }
                })
                .or_else(|err| match outcome {
                    Some(Commit::Conflict) => Ok(()),
                    _ => Err(err),
                })?;
            match outcome {
                // Nothing changed, nothing to commit.
                None => return Ok(()),
                Some(Commit::Done(head_revision, head)) => {
                    let committed = Arc::new(Cached {
                        head_revision,
                        head: Some(head),
                        memory: Arc::clone(&cached.memory),
                    });
                    // The rest of the call reads what it wrote.
                    repin(self.id(), &committed);
                    self.keep_if_newer(&committed);
                    return Ok(());
                }
                Some(Commit::Conflict) => {
                    lost += 1;
                    if Instant::now() > deadline {
                        return Err(RbacError::Storage {
                            message: format!(
                                "etcd at {}: {lost} attempts lost the race to other writers",
                                self.client.shown
                            ),
                        });
                    }
                    if let Some(id) = &turn {
                        if !self.holds_turn(id)? {
                            turn = None;
                        }
                    }
                    // Someone else's turn, or a race lost: give the winner a moment.
                    std::thread::sleep(Duration::from_millis(
                        1 + u64::from(random_bytes::<1>()?[0] % 4),
                    ));
                }
            }
        }
    }
}
