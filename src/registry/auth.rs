//! Authentication: who is calling. Checked when a client connects, and again at every call, so that a dropped
//! user or a changed password stops open clients at once.

use std::sync::Mutex;

use zeroize::Zeroizing;

use super::snapshot::Snapshot;
use super::{lock, Call, Registry};
use crate::error::{AuthFailure, RbacError, Result};
use crate::model::database_or_default;
use crate::password::Verified;

/// The credentials a client connects with, read as pymilvus reads its constructor's arguments.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// Nothing usable was given: pymilvus then sends no authorization at all.
    Missing,
    /// A token without a colon, which Milvus takes for an API key.
    ApiKey,
    UserPassword {
        user: String,
        password: Zeroizing<String>,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Missing => f.write_str("Missing"),
            Credentials::ApiKey => f.write_str("ApiKey"),
            Credentials::UserPassword { user, .. } => write!(f, "UserPassword({user:?}, ***)"),
        }
    }
}

impl Credentials {
    /// A non-empty `token` wins, as in pymilvus: `user:password`, split at the first colon (so passwords may
    /// contain colons). Otherwise `user` and `password`, when both are given.
    pub fn parse(user: &str, password: &str, token: &str) -> Credentials {
        let pair = |user: &str, password: &str| Credentials::UserPassword {
            user: user.to_string(),
            password: Zeroizing::new(password.to_string()),
        };
        if token.is_empty() {
            return if !user.is_empty() && !password.is_empty() {
                pair(user, password)
            } else {
                Credentials::Missing
            };
        }
        match token.split_once(':') {
            Some((user, password)) => pair(user, password),
            None => Credentials::ApiKey,
        }
    }
}

/// Who operations run as, and in which database their privileges are checked.
pub struct Caller {
    user: Option<String>,
    /// Kept to check the credential again at each call.
    password: Zeroizing<String>,
    db_name: String,
    /// The stored password hash the password was last found to match, and the registry's credential count
    /// read before that hash was: while the count stands, the credential holds without looking; while the
    /// user's hash is that one, it holds without hashing anything.
    verified: Mutex<Option<(String, u64)>>,
}

impl Clone for Caller {
    fn clone(&self) -> Caller {
        Caller {
            user: self.user.clone(),
            password: self.password.clone(),
            db_name: self.db_name.clone(),
            verified: Mutex::new(lock(&self.verified).clone()),
        }
    }
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Caller({:?}, db={:?})", self.user, self.db_name)
    }
}

impl Caller {
    fn new(user: Option<&str>, password: &str, db_name: &str) -> Caller {
        Caller {
            user: user.map(str::to_string),
            password: Zeroizing::new(password.to_string()),
            db_name: database_or_default(db_name).to_string(),
            verified: Mutex::new(None),
        }
    }

    /// The user, or `None` when authorization is disabled and no credentials were given.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The database whose grants apply (the client's `db_name`, `default` if empty).
    pub fn db_name(&self) -> &str {
        &self.db_name
    }

    /// A caller of a server's registry: the server checks the credentials, at every request.
    pub fn remote(credentials: &Credentials, db_name: &str) -> Caller {
        match credentials {
            Credentials::UserPassword { user, password } => {
                Caller::new(Some(user), password, db_name)
            }
            _ => Caller::new(None, "", db_name),
        }
    }

    /// The `user:password` token the caller authenticates with, if it has credentials.
    pub fn token(&self) -> Option<Zeroizing<String>> {
        self.user
            .as_ref()
            .map(|user| Zeroizing::new(format!("{user}:{}", self.password.as_str())))
    }

    /// The same caller, with its privileges checked in `db_name`.
    pub fn in_database(&self, db_name: &str) -> Caller {
        Caller {
            db_name: db_name.to_string(),
            ..self.clone()
        }
    }

    /// The same client, now holding `password` for `user` (after it changed its own password with
    /// `reset_connection=True`).
    pub fn reconnected(&self, user: &str, password: &str) -> Caller {
        Caller::new(Some(user), password, &self.db_name)
    }

    /// Whether the credential was verified while the credential count was `credentials`.
    fn verified_at(&self, credentials: u64) -> bool {
        lock(&self.verified)
            .as_ref()
            .is_some_and(|(_, at)| *at == credentials)
    }

    fn was_verified_against(&self, password_hash: &str) -> bool {
        lock(&self.verified)
            .as_ref()
            .is_some_and(|(hash, _)| hash == password_hash)
    }

    /// Remember that the password matches `password_hash`, read after the credential count was `credentials`.
    fn remember_verified(&self, password_hash: String, credentials: u64) {
        *lock(&self.verified) = Some((password_hash, credentials));
    }
}

/// Longer than any user name a profile accepts (32 characters of at most 4 bytes), with room for the
/// untrimmed white space Milvus 2.4 keeps.
const MAX_USER_NAME_BYTES: usize = 1024;

impl Registry {
    /// Check `credentials` as Milvus's authentication interceptor does. With authorization disabled nothing is
    /// checked, and the caller is whoever the credentials name. `db_name` is the client's database.
    pub fn authenticate(&self, credentials: &Credentials, db_name: &str) -> Result<Caller> {
        let fail = |reason| Err(RbacError::Authentication { reason });
        let (user, password) = match credentials {
            Credentials::UserPassword { user, password } => (user, password),
            _ if !self.settings().authorization_enabled => {
                return Ok(Caller::new(None, "", db_name))
            }
            Credentials::Missing => return fail(AuthFailure::MissingAuthorization),
            Credentials::ApiKey => return fail(AuthFailure::BadApiKey),
        };
        let caller = Caller::new(Some(user), password, db_name);
        if !self.settings().authorization_enabled {
            return Ok(caller);
        }
        let version = self.store().version()?;
        let view = self.view_at(version.changes);
        match self.verify_password(&view, user, password)? {
            Some(password_hash) => {
                caller.remember_verified(password_hash, version.credentials);
                Ok(caller)
            }
            None => fail(AuthFailure::BadCredentials),
        }
    }

    /// Check an open client's credential again: fails once its user is dropped or its password changed.
    pub(super) fn reauthenticate(&self, call: &Call<'_>) -> Result<()> {
        let caller = call.caller;
        let user = caller.user().ok_or(RbacError::Authentication {
            reason: AuthFailure::MissingAuthorization,
        })?;
        let credentials = call.version.credentials;
        if caller.verified_at(credentials) {
            return Ok(());
        }
        let view = call.view();
        if let Some(entry) = view.user(self.store(), user)? {
            if caller.was_verified_against(&entry.password_hash) {
                caller.remember_verified(entry.password_hash.clone(), credentials);
                return Ok(());
            }
        }
        match self.verify_password(view, user, &caller.password)? {
            Some(password_hash) => {
                caller.remember_verified(password_hash, credentials);
                Ok(())
            }
            None => Err(RbacError::Authentication {
                reason: AuthFailure::BadCredentials,
            }),
        }
    }

    /// The stored hash `password` matches if it is `user`'s password, else `None`. A credential verified
    /// before against the same stored hash costs a keyed hash; otherwise one argon2 verification, whether or
    /// not the user exists. A stored hash weaker than the configured parameters is upgraded.
    pub(super) fn verify_password(
        &self,
        view: &Snapshot,
        user: &str,
        password: &str,
    ) -> Result<Option<String>> {
        let hasher = &self.shared.hasher;
        // No stored password is longer than the profile allows (root's is at most 72 bytes), and no user name
        // of any profile is anywhere near this long: such input is refused without hashing it.
        if password.len() > self.profile().password.max_bytes().max(72)
            || user.len() > MAX_USER_NAME_BYTES
        {
            return Ok(None);
        }
        let Some(entry) = view.user(self.store(), user)? else {
            hasher.verify_decoy(password);
            return Ok(None);
        };
        let stored = entry.password_hash.as_str();
        let verified = if self.shared.verified.contains(password, stored) {
            // Known to match, maybe from a client with weaker settings: upgrade all the same.
            Verified::Yes {
                rehash: hasher.needs_rehash(stored),
            }
        } else {
            hasher.verify(password, stored)
        };
        match verified {
            Verified::No => Ok(None),
            // A registry this process may only read keeps its weaker hash.
            Verified::Yes { rehash } if !rehash || self.store().is_read_only() => {
                self.shared.verified.insert(password, stored);
                Ok(Some(stored.to_string()))
            }
            Verified::Yes { .. } => {
                let upgraded = self.hash_password(password)?;
                let current = self.write(|tx| {
                    // Only if nobody changed the password meanwhile.
                    match tx.user(user)? {
                        Some(record) if record.password_hash == stored => {
                            tx.set_password_hash(user, &upgraded)?;
                            Ok(upgraded)
                        }
                        _ => Ok(stored.to_string()),
                    }
                })?;
                self.shared.verified.insert(password, &current);
                Ok(Some(current))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::HashStrength;
    use crate::profile::ProfileName;
    use crate::registry::testing::{message, registry};
    use crate::settings::RegistryOptions;
    use crate::store::Location;

    fn pair(user: &str, password: &str) -> Credentials {
        Credentials::UserPassword {
            user: user.into(),
            password: Zeroizing::new(password.into()),
        }
    }

    #[test]
    fn credentials_are_read_as_pymilvus_reads_them() {
        assert_eq!(
            Credentials::parse("", "", "root:Mil:vus"),
            pair("root", "Mil:vus")
        );
        assert_eq!(Credentials::parse("root", "", ""), Credentials::Missing);
        assert_eq!(Credentials::parse("", "Milvus", ""), Credentials::Missing);
        assert_eq!(
            Credentials::parse("", "", "rootMilvus"),
            Credentials::ApiKey
        );
        assert_eq!(Credentials::parse("root", "Milvus", "x:y"), pair("x", "y"));
        assert_eq!(
            Credentials::parse("root", "Milvus", ""),
            pair("root", "Milvus")
        );
        assert!(!format!("{:?}", pair("root", "Milvus")).contains("Milvus"));
    }

    #[test]
    fn authentication_failures_carry_milvus_reasons() {
        let (registry, _) = registry(ProfileName::Milvus24);
        let auth = |token: &str| registry.authenticate(&Credentials::parse("", "", token), "");
        let bad = (
            2,
            "auth check failure, please check username and password are correct".to_string(),
        );
        for token in [
            "root:milvus",
            "ROOT:Milvus",
            "root :Milvus",
            "root:",
            ":",
            "nobody:Milvus",
        ] {
            assert_eq!(message(auth(token)), bad, "{token}");
        }
        assert_eq!(
            message(auth("")),
            (2, "missing authorization in header".to_string())
        );
        assert_eq!(
            message(auth("rootMilvus")),
            (
                2,
                "auth check failure, please check api key is correct".to_string()
            )
        );
        let root = auth("root:Milvus").unwrap();
        assert_eq!(root.user(), Some("root"));
        assert_eq!(root.db_name(), "default");
    }

    #[test]
    fn authorization_disabled_checks_nothing() {
        let options = RegistryOptions {
            authorization_enabled: Some(false),
            password_hash: Some(HashStrength::Fast),
            ..RegistryOptions::default()
        };
        let registry = Registry::open(Location::Memory, &options).unwrap();
        let caller = registry.authenticate(&Credentials::Missing, "db1").unwrap();
        assert_eq!(caller.user(), None);
        let named = registry.authenticate(&pair("ghost", "x"), "").unwrap();
        assert_eq!(named.user(), Some("ghost"));
    }
}
