//! The registry: Milvus's rules for users, roles and memberships, one public function per operation.
//!
//! Each operation validates (per the profile), applies the rule, and persists in one transaction. Expensive work
//! (argon2) happens outside transactions: cheap checks run first, so a request that will fail costs no hashing,
//! and the write transaction repeats them, so a concurrent change cannot slip in between.

mod access;
mod auth;
mod backup;
mod grants;
mod groups;
mod lists;
mod roles;
mod users;

pub use access::Explanation;
pub use auth::{Caller, Credentials};
pub use backup::{BackupRole, BackupUser, RbacBackup};
pub use grants::{Operation, RoleDescription, ANY, DEFAULT_DATABASE};
pub use groups::GroupChange;

use crate::credential_cache::CredentialCache;
use crate::error::{RbacError, Result};
use crate::password::PasswordHasher;
use crate::profile::Profile;
use crate::settings::{RegistryOptions, Settings};
use crate::store::{Grant, Location, Store, Tx};

/// The role every holder of which passes every privilege check.
pub const ADMIN_ROLE: &str = "admin";
/// The role every user implicitly holds.
pub const PUBLIC_ROLE: &str = "public";
/// The user created with the registry, which cannot be dropped.
pub const ROOT_USER: &str = "root";

/// An open registry.
#[derive(Debug)]
pub struct Registry {
    store: Store,
    settings: Settings,
    hasher: PasswordHasher,
    verified: &'static CredentialCache,
    /// Milvus 2.5.4's `rootShouldBindRole`, for this client: root is checked like any user.
    root_should_bind_role: bool,
    user_list: lists::HeldList,
    role_list: lists::HeldList,
}

/// What `describe_user` shows of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDescription {
    pub name: String,
    /// Sorted by byte order.
    pub roles: Vec<String>,
    pub description: String,
}

impl Registry {
    /// Open the registry at `location`, creating it (with root, admin and public) if it does not exist.
    pub fn open(location: Location, options: &RegistryOptions) -> Result<Registry> {
        let store = Store::open(location)?;
        let settings = match store.read(Settings::load)? {
            Some(stored) => stored,
            None => create(&store, options)?,
        };
        settings.check_reopened_with(options, store.location())?;
        let hasher = PasswordHasher::new(settings.password_hash);
        Ok(Registry {
            store,
            settings,
            hasher,
            verified: CredentialCache::shared()?,
            root_should_bind_role: options.root_should_bind_role.unwrap_or(false),
            user_list: lists::HeldList::default(),
            role_list: lists::HeldList::default(),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn profile(&self) -> &'static Profile {
        self.settings.profile.profile()
    }

    pub fn location(&self) -> &Location {
        self.store.location()
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

    fn hash_password(&self, password: &str) -> Result<String> {
        hash_remembered(&self.hasher, self.verified, password)
    }

    fn read<T>(&self, work: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        self.store.read(work)
    }

    fn write<T>(&self, work: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        self.store.write(work)
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
fn create(store: &Store, options: &RegistryOptions) -> Result<Settings> {
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
    use crate::password::HashStrength;
    use crate::profile::ProfileName;

    /// An in-memory registry with fast hashing, and root as the caller.
    pub fn registry(profile: ProfileName) -> (Registry, Caller) {
        let options = RegistryOptions {
            profile: Some(profile),
            password_hash: Some(HashStrength::Fast),
            ..RegistryOptions::default()
        };
        let registry = Registry::open(Location::Memory, &options).unwrap();
        let caller = registry
            .authenticate(&Credentials::parse("", "", "root:Milvus"), "")
            .unwrap();
        (registry, caller)
    }

    pub fn message<T: std::fmt::Debug>(result: Result<T>) -> (i32, String) {
        let err = result.unwrap_err();
        (err.code(), err.to_string())
    }
}
