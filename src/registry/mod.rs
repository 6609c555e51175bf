//! The registry: Milvus's rules for users, roles, memberships and privileges, executing one [`Request`] at a
//! time.
//!
//! [`Registry::execute`] does for every operation what its spec says (see [`crate::ops`]): refuse it where the
//! profile's Milvus line lacks it, check the caller's credential and privilege, then run the operation's rule,
//! a method of the same name in this module's files. Rules validate (per the profile), apply, and persist in
//! one transaction. Expensive work (argon2) happens outside transactions: cheap checks run first, so a request
//! that will fail costs no hashing, and the write transaction repeats them, so a concurrent change cannot slip
//! in between. Reads are answered from snapshots (see [`snapshot`]).

mod access;
mod auth;
mod backup;
mod denials;
mod grants;
mod groups;
mod roles;
mod shared;
mod snapshot;
mod trail;
mod users;

use std::cell::OnceCell;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::audit::AuditEntry;
use crate::caller::Caller;
use crate::credential_cache::CredentialCache;
use crate::error::{RbacError, Result};
use crate::model::{Grant, ADMIN_ROLE, ANY, PUBLIC_ROLE, ROOT_USER};
use crate::ops::{
    for_each_operation, Availability, Executor, IntoReply, OpSpec, Reply, ReplyKind, Request,
};
use crate::password::PasswordHasher;
use crate::profile::Profile;
use crate::settings::{RegistryOptions, Settings};
use crate::store::{self, Location, ReadTx, Store, Version, WriteTx};
use snapshot::Snapshot;

/// What every client of one registry in this process shares.
#[derive(Debug)]
struct Shared {
    store: Box<dyn Store>,
    settings: Settings,
    hasher: PasswordHasher,
    verified: &'static CredentialCache,
    /// The latest snapshot; reads replace it when they find the change count moved.
    snapshot: Mutex<Arc<Snapshot>>,
    /// How many more denials each user may leave in the audit trail now.
    denials: denials::DenialBudgets,
}

/// An open registry, as one client sees it.
#[derive(Debug)]
pub struct Registry {
    shared: Arc<Shared>,
    /// Milvus 2.5.4's `rootShouldBindRole`, for this client: root is checked like any user.
    root_should_bind_role: bool,
}

/// One request being executed: who calls, where the registry stood when it began, and the snapshot its
/// reads see (made when a read first asks: a write that reads nothing makes none).
pub(crate) struct Call<'c> {
    caller: &'c Caller,
    request: &'c Request,
    version: Version,
    registry: &'c Registry,
    view: OnceCell<Arc<Snapshot>>,
}

impl Call<'_> {
    /// The snapshot at the call's change count (or a later one).
    fn view(&self) -> &Snapshot {
        self.view
            .get_or_init(|| self.registry.view_at(self.version.changes))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Registry {
    /// Open the registry at `location`, creating it (with root, admin and public) if it does not exist. A file
    /// another client of this process has open is shared with it: its store, settings and snapshots.
    pub fn open(location: Location, options: &RegistryOptions) -> Result<Registry> {
        let shared = match shared::find(&location) {
            Some(shared) => shared,
            None => {
                let shared = Arc::new(Shared::open(location, options)?);
                shared::remember(&shared);
                shared
            }
        };
        shared
            .settings
            .check_reopened_with(options, shared.store.location())?;
        Ok(Registry {
            shared,
            root_should_bind_role: options.root_should_bind_role.unwrap_or(false),
        })
    }

    /// A new registry in memory, for this client alone.
    pub fn in_memory(options: &RegistryOptions) -> Result<Registry> {
        Registry::open(Location::Memory, options)
    }

    pub fn settings(&self) -> &Settings {
        &self.shared.settings
    }

    pub fn profile(&self) -> &'static Profile {
        self.shared.settings.profile.profile()
    }

    pub fn location(&self) -> &Location {
        self.shared.store.location()
    }

    /// Execute `request` for `caller`: availability, credential and privilege checks, then the rule.
    pub fn execute(&self, caller: &Caller, request: &Request) -> Result<Reply> {
        self.within_call(|| self.execute_now(caller, request))
    }

    /// Run `run` as one call of the store (see [`Store::within_call`]): a server authenticates and executes a
    /// request in one.
    pub fn within_call<T>(&self, run: impl FnOnce() -> Result<T>) -> Result<T> {
        self.store().call(run)
    }

    fn execute_now(&self, caller: &Caller, request: &Request) -> Result<Reply> {
        let spec = request.spec();
        self.check_available(spec)?;
        let call = Call {
            caller,
            request,
            version: self.shared.store.version()?,
            registry: self,
            view: OnceCell::new(),
        };
        let changes = spec.returns == ReplyKind::Done;
        self.authorize(
            &call,
            spec.needs.object_type,
            spec.needs.privilege,
            request.object(),
        )
        .and_then(|()| self.dispatch(&call, request))
        .inspect_err(|err| self.record_failed_call(&call, err, changes))
    }

    /// Refuse an operation that the profile's Milvus line does not have, as an older server would, before
    /// any privilege check.
    fn check_available(&self, spec: &OpSpec) -> Result<()> {
        let profile = self.profile();
        let (has_it, since) = match spec.available {
            Availability::Always => return Ok(()),
            Availability::WithGroups => (profile.catalog.has_groups(), "2.5"),
            Availability::WithDescriptions => (profile.descriptions, "2.6.19"),
        };
        if has_it {
            return Ok(());
        }
        let rpc = spec.rpc.map_or(spec.name, |rpc| rpc.name());
        Err(RbacError::Unsupported {
            message: format!(
                "{} is not available in profile {}: Milvus added {rpc} in {since} (older servers answer: \
                 unknown method {rpc} for service milvus.proto.milvus.MilvusService)",
                spec.name, profile.name
            ),
        })
    }

    /// The snapshot at change count `changes`: the latest one if it is that recent, else a new one.
    fn view_at(&self, changes: u64) -> Arc<Snapshot> {
        let mut latest = lock(&self.shared.snapshot);
        // Another thread may have seen a later count meanwhile: what it started is at least as fresh.
        if latest.version() < changes {
            *latest = Arc::new(Snapshot::after(&latest, changes));
        }
        Arc::clone(&latest)
    }

    /// Milvus 2.6 wraps the failures of its coordinator's pre-checks in `context`; earlier versions return
    /// them bare.
    fn check_failed(&self, context: &'static str, err: RbacError) -> RbacError {
        if self.profile().prefix_check_failures {
            RbacError::Wrapped {
                context,
                source: Box::new(err),
            }
        } else {
            err
        }
    }

    fn store(&self) -> &dyn Store {
        self.shared.store.as_ref()
    }

    fn hash_password(&self, password: &str) -> Result<String> {
        hash_remembered(&self.shared.hasher, self.shared.verified, password)
    }

    fn read<T>(&self, work: impl FnOnce(&dyn ReadTx) -> Result<T>) -> Result<T> {
        self.store().read(work)
    }

    /// See [`Store::write_with`]: `work` may run more than once.
    fn write<T>(&self, work: impl FnMut(&mut dyn WriteTx) -> Result<T>) -> Result<T> {
        self.store().write(work)
    }
}

impl Executor for Registry {
    fn execute(&self, caller: &Caller, request: &Request) -> Result<Reply> {
        Registry::execute(self, caller, request)
    }

    fn describe(&self) -> String {
        format!("profile={:?}", self.profile().name.as_str())
    }
}

/// Expands the operation table into [`Registry::dispatch`]: each request to the rule of the same name.
macro_rules! dispatch {
    ($($(#[$doc:meta])* $name:ident => $Op:ident { $($spec:tt)* })*) => {
        impl Registry {
            fn dispatch(&self, call: &Call<'_>, request: &Request) -> Result<Reply> {
                match request {
                    $(Request::$Op(args) => self.$name(call, args).map(IntoReply::into_reply),)*
                }
            }
        }
    };
}

for_each_operation!(dispatch);

impl Shared {
    /// Open the store at `location`, setting up a new registry there if there is none.
    fn open(location: Location, options: &RegistryOptions) -> Result<Shared> {
        let store = store::open(location)?;
        let settings = match store.read(Settings::load)? {
            Some(stored) => stored,
            None => create(store.as_ref(), options)?,
        };
        let version = store.version()?.changes;
        Ok(Shared {
            store,
            hasher: PasswordHasher::new(settings.password_hash),
            settings,
            verified: CredentialCache::shared()?,
            snapshot: Mutex::new(Arc::new(Snapshot::new(version))),
            denials: denials::DenialBudgets::default(),
        })
    }
}

/// Hash a new password, remembering that it matches (so its first login costs no argon2 run).
fn hash_remembered(
    hasher: &PasswordHasher,
    verified: &CredentialCache,
    password: &str,
) -> Result<String> {
    let hash = hasher.hash(password)?;
    verified.insert(password, &hash);
    Ok(hash)
}

/// Set up a new registry: settings, root and the built-in roles, in one transaction.
fn create(store: &dyn Store, options: &RegistryOptions) -> Result<Settings> {
    let settings = Settings::for_new_registry(options)?;
    // Root's first login then costs no argon2 run: a new `:memory:` client would otherwise pay two.
    let root_hash = hash_remembered(
        &PasswordHasher::new(settings.password_hash),
        CredentialCache::shared()?,
        Settings::root_password(options)?,
    )?;
    store.write(|tx| {
        // Another process may have created it since we looked.
        if let Some(stored) = Settings::load(tx)? {
            return Ok(stored);
        }
        settings.save(tx)?;
        let created = AuditEntry::now("", "", "create_registry")
            .with_target(vec![("profile".into(), settings.profile.as_str().into())]);
        tx.append_audit(&created, settings.audit_retention)?;
        tx.insert_user(ROOT_USER, &root_hash, "")?;
        tx.insert_role(ADMIN_ROLE, "")?;
        tx.insert_role(PUBLIC_ROLE, "")?;
        for grant in settings.profile.profile().catalog.public_grants() {
            tx.insert_grant(&Grant {
                role_name: PUBLIC_ROLE.to_string(),
                object_type: grant.object_type.as_str().to_string(),
                db_name: ANY.to_string(),
                object_name: ANY.to_string(),
                privilege: grant.privilege.to_string(),
                grantor: ROOT_USER.to_string(),
            })?;
        }
        Ok(settings.clone())
    })
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::caller::Credentials;
    use crate::password::HashStrength;
    use crate::profile::ProfileName;

    /// An in-memory registry with fast hashing, and root as the caller.
    pub fn registry(profile: ProfileName) -> (Registry, Caller) {
        registry_with(RegistryOptions {
            profile: Some(profile),
            password_hash: Some(HashStrength::Fast),
            ..RegistryOptions::default()
        })
    }

    /// An in-memory registry with these options, and root (password `Milvus`) as the caller.
    pub fn registry_with(options: RegistryOptions) -> (Registry, Caller) {
        let registry = Registry::open(Location::Memory, &options).unwrap();
        let caller = registry
            .authenticate(&Credentials::parse("", "", "root:Milvus"), "")
            .unwrap();
        (registry, caller)
    }

    /// The request for operation `name`, its arguments given as texts (see [`crate::ops::ArgKind::text_value`]).
    pub fn request(name: &str, texts: &[(&str, &str)]) -> Request {
        let spec = OpSpec::named(name).expect("a known operation");
        let given = texts.iter().map(|(arg, text)| {
            let kind = spec.arg(arg).expect("a known argument").kind;
            (
                *arg,
                kind.text_value(text).expect("an argument given as text"),
            )
        });
        Request::build(name, given).expect("a well-formed request")
    }

    pub fn message<T: std::fmt::Debug>(result: Result<T>) -> (i32, String) {
        let err = result.unwrap_err();
        (err.code(), err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{message, registry, request};
    use super::*;
    use crate::profile::ProfileName;

    /// Calls at one change count share one snapshot (and what it has read and decided); a change starts another.
    #[test]
    fn calls_at_one_change_count_share_a_snapshot() {
        let (registry, root) = registry(ProfileName::Milvus26);
        let changes = || registry.store().version().unwrap().changes;
        let first = registry.view_at(changes());
        assert!(Arc::ptr_eq(&first, &registry.view_at(changes())));
        registry
            .execute(&root, &request("create_role", &[("role_name", "r")]))
            .unwrap();
        let after = registry.view_at(changes());
        assert!(!Arc::ptr_eq(&first, &after));
        // A call that began before the change asks for its older count: it gets the latest all the same.
        assert!(Arc::ptr_eq(&after, &registry.view_at(first.version())));
    }

    /// A change that leaves a list of names as it was keeps the list itself: its clients' copies stay shared.
    #[test]
    fn an_unchanged_list_of_names_is_the_same_list() {
        let (registry, root) = registry(ProfileName::Milvus26);
        let run = |name: &str, args: &[(&str, &str)]| {
            registry.execute(&root, &request(name, args)).unwrap()
        };
        let names = |name: &str| match run(name, &[]) {
            Reply::Names(names) => names,
            other => panic!("{name} answered {other:?}"),
        };
        let (users, roles) = (names("list_users"), names("list_roles"));
        run("create_role", &[("role_name", "r")]);
        assert!(Arc::ptr_eq(&users, &names("list_users")));
        let more_roles = names("list_roles");
        assert!(!Arc::ptr_eq(&roles, &more_roles));
        assert_eq!(more_roles.len(), roles.len() + 1);
    }

    /// Milvus 2.6 stores a username trimmed; earlier lines validate it trimmed and store it as given.
    #[test]
    fn where_usernames_are_stored_trimmed() {
        for (profile, stored) in [(ProfileName::Milvus26, "u"), (ProfileName::Milvus25, " u")] {
            let (registry, root) = super::testing::registry(profile);
            let create = [("user_name", " u"), ("password", "P@ssw0rd")];
            registry
                .execute(&root, &request("create_user", &create))
                .unwrap();
            match registry.execute(&root, &request("list_users", &[])) {
                Ok(Reply::Names(names)) => assert!(names.contains(stored), "{profile}"),
                other => panic!("list_users answered {other:?}"),
            }
        }
    }

    /// A registry of `profile` with a role `r` granted Search on `books` in database `db1`, and root.
    fn role_r_with_a_grant_in_db1(profile: ProfileName) -> (Registry, Caller) {
        let (registry, root) = super::testing::registry(profile);
        let run = |name: &str, args: &[(&str, &str)]| registry.execute(&root, &request(name, args));
        run("create_role", &[("role_name", "r")]).unwrap();
        let grant = [
            ("role_name", "r"),
            ("object_type", "Collection"),
            ("privilege", "Search"),
            ("object_name", "books"),
            ("db_name", "db1"),
        ];
        run("grant_privilege", &grant).unwrap();
        (registry, root)
    }

    /// Milvus 2.4 drops a role whose only grants are in another database (it looks in `default` and `*`);
    /// later lines see them and refuse.
    #[test]
    fn a_role_with_grants_in_another_database_is_dropped_only_by_2_4() {
        for (profile, dropped) in [
            (ProfileName::Milvus24, true),
            (ProfileName::Milvus25, false),
        ] {
            let (registry, root) = role_r_with_a_grant_in_db1(profile);
            let run =
                |name: &str, args: &[(&str, &str)]| registry.execute(&root, &request(name, args));
            assert_eq!(
                run("drop_role", &[("role_name", "r")]).is_ok(),
                dropped,
                "{profile}"
            );
        }
    }

    /// `describe_role(db_name="*")` lists every database's grants from 2.5 on; 2.4 only those stored in `*`.
    #[test]
    fn describing_a_role_in_star_lists_every_database_from_2_5_on() {
        for (profile, listed) in [(ProfileName::Milvus24, 0), (ProfileName::Milvus25, 1)] {
            let (registry, root) = role_r_with_a_grant_in_db1(profile);
            let run =
                |name: &str, args: &[(&str, &str)]| registry.execute(&root, &request(name, args));
            match run("describe_role", &[("role_name", "r"), ("db_name", "*")]) {
                Ok(Reply::Role(role)) => assert_eq!(role.grants.len(), listed, "{profile}"),
                other => panic!("describe_role answered {other:?}"),
            }
        }
    }

    /// An operation the profile's Milvus line lacks is refused as such, before anything else.
    #[test]
    fn operations_a_line_lacks_are_refused_naming_the_line() {
        let (registry, root) = registry(ProfileName::Milvus24);
        let groups = registry.execute(
            &root,
            &request("create_privilege_group", &[("group_name", "g")]),
        );
        assert_eq!(
            message(groups).1,
            "create_privilege_group is not available in profile milvus-2.4: Milvus added CreatePrivilegeGroup \
             in 2.5 (older servers answer: unknown method CreatePrivilegeGroup for service \
             milvus.proto.milvus.MilvusService)"
        );
        let (newer, root) = super::testing::registry(ProfileName::Milvus25);
        let alter = newer.execute(&root, &request("alter_role", &[("role_name", "r")]));
        assert!(message(alter)
            .1
            .contains("Milvus added AlterRole in 2.6.19"));
        assert!(newer
            .execute(
                &root,
                &request("create_privilege_group", &[("group_name", "g")])
            )
            .is_ok());
        assert_eq!(newer.describe(), "profile=\"milvus-2.5\"");
    }
}
