//! Persistence behind one interface: transactions over users, roles, memberships, grants, privilege groups,
//! settings and the change count. The rules see only [`Store`], [`ReadTx`] and [`WriteTx`]; two stores
//! implement them: [`memory`] (plain Rust collections, for `:memory:`) and [`sqlite`] (a file that several
//! processes share).
//!
//! Every store keeps these promises, which `tests` below check on each:
//! - a write transaction is all or nothing: an error inside it leaves nothing behind;
//! - names come back in byte order, as Milvus lists them; a role's grants by object type, database, object
//!   and privilege;
//! - inserting a user, role or group that exists, or a membership, grant or member whose user, role or group
//!   does not, is an error (the rules check first; the store refuses to be left inconsistent);
//! - granting what is granted, or adding what is there, changes nothing (the first grantor stays);
//! - dropping a user takes its memberships; a role, its memberships and grants; a group, its members;
//! - [`Store::version`] moves with every committed transaction that changed something, whoever made it; its
//!   credential count, with every one that added, removed or re-hashed a user;
//! - the audit trail's records are appended in the transaction whose change they record (both or neither),
//!   chained and trimmed to the retention bound there; a transaction that only appends to the trail does not
//!   move the change count (a denial changes nothing a read sees).

#[cfg(feature = "etcd")]
mod etcd;
mod memory;
mod record;
mod sqlite;

#[cfg(feature = "etcd")]
pub use etcd::EtcdOptions;

use std::fmt;
use std::path::PathBuf;

use crate::audit::{AuditEntry, AuditLog};
use crate::error::{RbacError, Result};
use crate::model::{Grant, Group, Names, UserRecord};

/// Where a registry lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A private in-memory registry, gone when the last client of it closes.
    Memory,
    /// A SQLite file, shared by every client and process that opens it.
    File(PathBuf),
    /// A prefix of an etcd cluster, shared by every client and server that uses it.
    Etcd(EtcdLocation),
}

/// A registry in etcd: `etcd://host:port[,host:port...][/prefix]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdLocation {
    /// The members' `host:port`s.
    pub endpoints: Vec<String>,
    /// Where the registry's keys start: begins and ends with `/`.
    pub prefix: String,
}

/// The prefix of a registry whose URI names none: one etcd can hold several registries.
pub const DEFAULT_ETCD_PREFIX: &str = "/milvus-rbac/";

impl EtcdLocation {
    /// Parse an `etcd://` URI. Credentials have no place in it (URIs are shown and logged): etcd's user,
    /// password and certificates come from the environment.
    pub fn parse(uri: &str) -> Result<EtcdLocation> {
        let illegal = |why: &str| RbacError::Param {
            message: format!("`uri` value {uri} is illegal: {why}"),
        };
        let rest = uri
            .strip_prefix("etcd://")
            .ok_or_else(|| illegal("an etcd registry's URI starts with etcd://"))?;
        let (hosts, path) = match rest.find('/') {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        if hosts.contains('@') {
            return Err(illegal(
                "etcd credentials do not go in the URI; set MILVUS_RBAC_ETCD_USER and \
                 MILVUS_RBAC_ETCD_PASSWORD (or MILVUS_RBAC_ETCD_PASSWORD_FILE)",
            ));
        }
        let mut endpoints = Vec::new();
        for host in hosts.split(',') {
            let port = host
                .rsplit_once(':')
                .map(|(name, port)| (name, port.parse::<u16>()));
            match port {
                Some((name, Ok(_))) if !name.is_empty() => endpoints.push(host.to_string()),
                _ => return Err(illegal(&format!("{host:?} is not a host:port"))),
            }
        }
        let prefix = match path.trim_matches('/') {
            "" => DEFAULT_ETCD_PREFIX.to_string(),
            inner => format!("/{inner}/"),
        };
        Ok(EtcdLocation { endpoints, prefix })
    }

    pub fn describe(&self) -> String {
        format!("etcd://{}{}", self.endpoints.join(","), self.prefix)
    }
}

impl Location {
    /// What to call the registry in messages.
    pub fn describe(&self) -> String {
        match self {
            Location::Memory => ":memory:".to_string(),
            Location::File(path) => path.display().to_string(),
            Location::Etcd(etcd) => etcd.describe(),
        }
    }
}

/// Where a registry stands: counts that only move up, with its changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Version {
    /// Moves with every committed transaction that changed anything.
    pub changes: u64,
    /// Moves with every committed transaction that added, removed or re-hashed a user: a password found to
    /// match a user's stored hash still matches it while this count stands.
    pub credentials: u64,
}

/// What identifies a store across the clients of one process: two locations with the same identity are the
/// same registry (a file reached by two paths, or through a link).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Identity {
    device: u64,
    inode: u64,
}

/// The identity of the registry at `location`, if it exists and can be shared (a file; an in-memory registry
/// belongs to the client that made it).
pub fn identity(location: &Location) -> Option<Identity> {
    use std::os::unix::fs::MetadataExt;
    match location {
        Location::Memory | Location::Etcd(_) => None,
        Location::File(path) => std::fs::metadata(path).ok().map(|meta| Identity {
            device: meta.dev(),
            inode: meta.ino(),
        }),
    }
}

/// Open (creating if needed) the store at `location`.
pub fn open(location: Location) -> Result<Box<dyn Store>> {
    Ok(match location {
        Location::Memory => Box::new(memory::MemoryStore::new()),
        Location::File(path) => Box::new(sqlite::SqliteStore::open(path)?),
        #[cfg(feature = "etcd")]
        Location::Etcd(etcd) => Box::new(etcd::EtcdStore::open(&etcd, &EtcdOptions::from_env()?)?),
        #[cfg(not(feature = "etcd"))]
        Location::Etcd(etcd) => {
            return Err(RbacError::Unsupported {
                message: format!(
                    "{}: this build of milvus-rbac has no etcd store",
                    etcd.describe()
                ),
            })
        }
    })
}

/// Remove the registry at `location` entirely: its keys, for a registry in etcd (a file is removed as any file
/// is; an in-memory registry goes with its client).
pub fn remove(location: &Location) -> Result<()> {
    match location {
        #[cfg(feature = "etcd")]
        Location::Etcd(etcd) => etcd::EtcdStore::remove(etcd, &EtcdOptions::from_env()?),
        other => Err(RbacError::Param {
            message: format!(
                "only a registry in etcd is removed this way, not {}",
                other.describe()
            ),
        }),
    }
}

/// Reads inside one transaction: what they see is one committed state.
pub trait ReadTx {
    /// Where the state this transaction sees stands.
    fn version(&self) -> Result<Version>;

    fn setting(&self, key: &str) -> Result<Option<String>>;
    /// In byte order.
    fn super_users(&self) -> Result<Vec<String>>;

    fn user(&self, name: &str) -> Result<Option<UserRecord>>;
    fn user_count(&self) -> Result<u64>;
    fn user_names(&self) -> Result<Names>;
    /// Every user with its password hash, in byte order.
    fn users(&self) -> Result<Vec<UserRecord>>;
    /// The user's stored roles (not the implicit `public`), in byte order.
    fn roles_of_user(&self, name: &str) -> Result<Vec<String>>;

    /// The role's description, or `None` if there is no such role.
    fn role(&self, name: &str) -> Result<Option<String>>;
    fn role_count(&self) -> Result<u64>;
    fn role_names(&self) -> Result<Names>;

    /// Every grant of a role, in every database.
    fn grants_of_role(&self, role: &str) -> Result<Vec<Grant>>;
    /// Every grant of every role, by role.
    fn grants(&self) -> Result<Vec<Grant>>;
    /// The first role (by name) holding a grant of `privilege`.
    fn role_holding(&self, privilege: &str) -> Result<Option<String>>;

    fn group_exists(&self, name: &str) -> Result<bool>;
    /// A group's privileges, in byte order.
    fn group_members(&self, name: &str) -> Result<Vec<String>>;
    /// Every custom group with its privileges, by name.
    fn groups(&self) -> Result<Vec<Group>>;
}

/// Changes inside one transaction, committed together or not at all.
pub trait WriteTx: ReadTx {
    fn set_setting(&mut self, key: &str, value: &str) -> Result<()>;
    fn add_super_user(&mut self, name: &str) -> Result<()>;

    fn insert_user(&mut self, name: &str, password_hash: &str, description: &str) -> Result<()>;
    /// Returns whether the user exists.
    fn set_password_hash(&mut self, name: &str, password_hash: &str) -> Result<bool>;
    /// Returns whether the user exists.
    fn set_user_description(&mut self, name: &str, description: &str) -> Result<bool>;
    /// Deletes the user and its memberships. Returns whether it existed.
    fn delete_user(&mut self, name: &str) -> Result<bool>;

    fn insert_role(&mut self, name: &str, description: &str) -> Result<()>;
    /// Returns whether the role exists.
    fn set_role_description(&mut self, name: &str, description: &str) -> Result<bool>;
    /// Deletes the role, its memberships and its grants. Returns whether it existed.
    fn delete_role(&mut self, name: &str) -> Result<bool>;

    /// Adding an existing membership is a no-op, as in Milvus.
    fn add_user_role(&mut self, user: &str, role: &str) -> Result<()>;
    fn remove_user_role(&mut self, user: &str, role: &str) -> Result<()>;

    /// Granting what is granted already is a no-op that keeps the first grantor, as in Milvus.
    fn insert_grant(&mut self, grant: &Grant) -> Result<()>;
    /// Revoking what is not granted is a no-op; the grantor is not compared.
    fn delete_grant(&mut self, grant: &Grant) -> Result<()>;

    fn insert_group(&mut self, name: &str) -> Result<()>;
    /// Deletes the group and its members.
    fn delete_group(&mut self, name: &str) -> Result<()>;
    fn add_group_member(&mut self, group: &str, privilege: &str) -> Result<()>;
    fn remove_group_member(&mut self, group: &str, privilege: &str) -> Result<()>;

    /// Append `entry` to the audit trail when this transaction commits (numbered and chained then), keeping
    /// the newest `keep` records.
    fn append_audit(&mut self, entry: &AuditEntry, keep: u64) -> Result<()>;
}

/// A registry's persistence.
pub trait Store: Send + Sync + fmt::Debug {
    fn location(&self) -> &Location;

    /// Whether this process may only read the registry.
    fn is_read_only(&self) -> bool;

    /// Where the registry stands now, read on its own: cheaper than a transaction, for telling whether what
    /// was read before is still current.
    fn version(&self) -> Result<Version>;

    /// Run `run`, one client call: a store that asks elsewhere whether its state is current (etcd) asks once,
    /// when the call starts, and answers the call's reads from that state. Calls may nest; the outermost asks.
    fn within_call(&self, run: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        run()
    }

    /// Run `work` in a read transaction.
    fn read_with(&self, work: &mut dyn FnMut(&dyn ReadTx) -> Result<()>) -> Result<()>;

    /// Run `work` in a write transaction, committed only if it succeeds. A store whose writers race other
    /// processes optimistically (etcd) runs `work` again, on the newer state, when one of them won: `work`
    /// acts only through the transaction.
    fn write_with(&self, work: &mut dyn FnMut(&mut dyn WriteTx) -> Result<()>) -> Result<()>;

    /// The audit trail as it stands now: its bounds and every record, read together.
    fn audit_log(&self) -> Result<AuditLog>;
}

impl dyn Store + '_ {
    /// [`Store::within_call`], returning what `run` returns.
    pub fn call<T>(&self, run: impl FnOnce() -> Result<T>) -> Result<T> {
        let mut run = Some(run);
        let mut value = None;
        self.within_call(&mut || {
            let run = run.take().ok_or_else(ran_twice)?;
            value = Some(run()?);
            Ok(())
        })?;
        value.ok_or_else(ran_twice)
    }

    /// Run `work` in a read transaction and return what it returns.
    pub fn read<T>(&self, work: impl FnOnce(&dyn ReadTx) -> Result<T>) -> Result<T> {
        let mut work = Some(work);
        let mut value = None;
        self.read_with(&mut |tx| {
            let work = work.take().ok_or_else(ran_twice)?;
            value = Some(work(tx)?);
            Ok(())
        })?;
        value.ok_or_else(ran_twice)
    }

    /// Run `work` in a write transaction, committed only if it succeeds, and return what it returns (from
    /// its last run: see [`Store::write_with`]).
    pub fn write<T>(&self, mut work: impl FnMut(&mut dyn WriteTx) -> Result<T>) -> Result<T> {
        let mut value = None;
        self.write_with(&mut |tx| {
            value = Some(work(tx)?);
            Ok(())
        })?;
        value.ok_or_else(ran_twice)
    }
}

/// A store runs a transaction's work at least once, and a call exactly once; anything else is a bug in the store.
fn ran_twice() -> RbacError {
    RbacError::Storage {
        message: "internal error: a store committed a transaction without running its work".into(),
    }
}

/// What a store says when a write would break its integrity (a rule failed to check first).
fn inconsistent(what: String) -> RbacError {
    RbacError::Storage {
        message: format!("registry storage refused an inconsistent change: {what}"),
    }
}

#[cfg(test)]
pub(crate) mod tests;
