//! Authentication: checking who calls, when a client connects and again at every call, so that a dropped user
//! or a changed password stops open clients at once.

use super::snapshot::Snapshot;
use super::{Call, Registry};
use crate::audit::{AuditEntry, Outcome};
use crate::caller::{Caller, Credentials};
use crate::error::{AuthFailure, RbacError, Result};
use crate::password::Verified;

/// Longer than any user name a profile accepts (32 characters of at most 4 bytes), with room for the
/// untrimmed white space Milvus 2.4 keeps.
const MAX_USER_NAME_BYTES: usize = 1024;

impl Registry {
    /// Check `credentials` as Milvus's authentication interceptor does. With authorization disabled nothing is
    /// checked, and the caller is whoever the credentials name. `db_name` is the client's database.
    pub fn authenticate(&self, credentials: &Credentials, db_name: &str) -> Result<Caller> {
        self.within_call(|| self.authenticate_now(credentials, db_name))
    }

    fn authenticate_now(&self, credentials: &Credentials, db_name: &str) -> Result<Caller> {
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
            None => {
                let err = RbacError::Authentication {
                    reason: AuthFailure::BadCredentials,
                };
                self.record_refusal(
                    AuditEntry::now(user, db_name, "login").ended_by(Outcome::LoginFailed, &err),
                );
                Err(err)
            }
        }
    }

    /// Whether `credentials` are a user's password that this process has already verified against the user's
    /// current stored hash: a keyed digest, never an argon2 run. A server refusing guesses for a locked-out
    /// user or address still lets such known-good credentials through.
    pub fn knows_credential(&self, credentials: &Credentials) -> Result<bool> {
        let Credentials::UserPassword { user, password } = credentials else {
            return Ok(false);
        };
        let version = self.store().version()?;
        let view = self.view_at(version.changes);
        Ok(view.user(self.store(), user)?.is_some_and(|entry| {
            self.shared
                .verified
                .contains(password, &entry.password_hash)
        }))
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
        match self.verify_password(view, user, caller.password())? {
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
            hasher.verify_decoy(password)?;
            return Ok(None);
        };
        let stored = entry.password_hash.as_str();
        let verified = if self.shared.verified.contains(password, stored) {
            // Known to match, maybe from a client with weaker settings: upgrade all the same.
            Verified::Yes {
                rehash: hasher.needs_rehash(stored),
            }
        } else {
            hasher.verify(password, stored)?
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
                let rehashed = AuditEntry::now(user, "", "rehash_password")
                    .with_target(vec![("user_name".into(), user.to_string())]);
                let current = self.write_recorded(rehashed, |tx| {
                    // Only if nobody changed the password meanwhile.
                    match tx.user(user)? {
                        Some(record) if record.password_hash == stored => {
                            tx.set_password_hash(user, &upgraded)?;
                            Ok(upgraded.clone())
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
        Credentials::parse("", "", &format!("{user}:{password}"))
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
