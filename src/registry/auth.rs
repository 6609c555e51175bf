//! Authentication: checking who calls, when a client connects and again at every call, so that a dropped user
//! or a changed password stops open clients at once.

use super::snapshot::Snapshot;
use super::{Call, Registry};
use crate::audit::{AuditEntry, Outcome};
use crate::caller::{Caller, Credentials};
use crate::error::{AuthFailure, RbacError, Result};
use crate::password::Verified;
use crate::store::WriteTx;

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
        // of any profile is anywhere near this long: such input is refused without hashing it (a token of a
        // megabyte costs no argon2 run; tests/test_secrets.py checks it).
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
                    replace_unless_changed(tx, user, stored, &upgraded)
                })?;
                self.shared.verified.insert(password, &current);
                Ok(Some(current))
            }
        }
    }
}

/// Store `upgraded` as `user`'s password hash if it is still `stored` (nobody changed the password or dropped
/// the user since it was verified): the hash `user`'s password now has.
fn replace_unless_changed(
    tx: &mut dyn WriteTx,
    user: &str,
    stored: &str,
    upgraded: &str,
) -> Result<String> {
    match tx.user(user)? {
        Some(record) if record.password_hash == stored => {
            tx.set_password_hash(user, upgraded)?;
            Ok(upgraded.to_string())
        }
        _ => Ok(stored.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::HashStrength;
    use crate::profile::ProfileName;
    use crate::registry::testing::{message, registry, request};
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

    /// Known credentials are those this process verified against the user's current hash, and no others.
    #[test]
    fn only_verified_current_passwords_are_known() {
        let (registry, root) = registry(ProfileName::Milvus25);
        let run = |name: &str, args: &[(&str, &str)]| registry.execute(&root, &request(name, args));
        run(
            "create_user",
            &[("user_name", "u"), ("password", "P@ssw0rd1")],
        )
        .unwrap();
        let known =
            |user: &str, password: &str| registry.knows_credential(&pair(user, password)).unwrap();
        registry.authenticate(&pair("u", "P@ssw0rd1"), "").unwrap();
        assert!(known("u", "P@ssw0rd1"));
        assert!(!known("u", "P@ssw0rd2"));
        assert!(!known("ghost", "P@ssw0rd1"));
        assert!(!registry.knows_credential(&Credentials::Missing).unwrap());
        let update = [
            ("user_name", "u"),
            ("old_password", "P@ssw0rd1"),
            ("new_password", "P@ssw0rd2"),
        ];
        run("update_password", &update).unwrap();
        assert!(
            !known("u", "P@ssw0rd1"),
            "verified against a hash that is gone"
        );
    }

    /// The longest password a profile stores still logs in; a longer one is refused unhashed.
    #[test]
    fn the_longest_password_a_profile_allows_logs_in() {
        let (registry, root) = registry(ProfileName::Milvus25);
        let longest = format!("P@ss{}", "w".repeat(72 - 4));
        let create = [("user_name", "u"), ("password", longest.as_str())];
        registry
            .execute(&root, &request("create_user", &create))
            .unwrap();
        assert!(registry.authenticate(&pair("u", &longest), "").is_ok());
        let longer = format!("{longest}w");
        assert_eq!(message(registry.authenticate(&pair("u", &longer), "")).0, 2);
    }

    /// Credentials no stored one can match (a user name over 1,024 bytes, a password longer than any stored one)
    /// are refused without an argon2 run; a user name up to the bound costs one, a decoy, as any unknown user's.
    #[test]
    fn implausible_credentials_are_refused_without_hashing() {
        let (registry, _) = registry(ProfileName::Milvus25);
        let verifications = || crate::password::counters::runs().1;
        let before = verifications();
        for (user, password) in [
            ("u".repeat(1025), "P@ssw0rd1".to_string()),
            ("u".repeat(1 << 20), "P@ssw0rd1".to_string()),
            ("ghost".to_string(), "p".repeat(73)),
        ] {
            assert_eq!(
                message(registry.authenticate(&pair(&user, &password), "")).0,
                2
            );
        }
        assert_eq!(verifications(), before, "refused unhashed");
        let at_the_bound = pair(&"u".repeat(1024), "P@ssw0rd1");
        assert_eq!(message(registry.authenticate(&at_the_bound, "")).0, 2);
        assert_eq!(verifications(), before + 1, "one decoy verification");
    }

    /// A password stored with a weaker hash (Milvus's bcrypt, restored from its backup) is hashed again at the
    /// first login that proves it; a wrong password changes nothing.
    #[test]
    fn a_weaker_stored_hash_is_replaced_at_login() {
        use crate::model::{BackupUser, RbacBackup};
        use crate::ops::{Reply, Request, Value};

        let (registry, root) = registry(ProfileName::Milvus25);
        let bcrypt = bcrypt::hash("P@ssw0rd1", 4).unwrap();
        let backup = RbacBackup {
            users: vec![BackupUser {
                name: "u".into(),
                password_hash: bcrypt.clone(),
                description: String::new(),
                roles: vec![],
            }],
            ..RbacBackup::default()
        };
        let meta = Value::Backup(Box::new(backup));
        let restore = Request::build("restore_rbac", [("meta", meta)]).unwrap();
        registry.execute(&root, &restore).unwrap();
        let stored = || match registry.execute(&root, &request("backup_rbac", &[])) {
            Ok(Reply::Backup(backup, _)) => backup.users[0].password_hash.clone(),
            other => panic!("backup_rbac answered {other:?}"),
        };
        assert!(registry.authenticate(&pair("u", "wrong-pass"), "").is_err());
        assert_eq!(stored(), bcrypt);
        registry.authenticate(&pair("u", "P@ssw0rd1"), "").unwrap();
        let upgraded = stored();
        assert!(upgraded.starts_with("$argon2id$"), "{upgraded}");
        // Known now: the next login neither verifies bcrypt again nor hashes again.
        registry.authenticate(&pair("u", "P@ssw0rd1"), "").unwrap();
        assert_eq!(stored(), upgraded);
    }

    /// A rehash is stored only over the hash that was verified: a password changed (or a user dropped) since
    /// is left as it is.
    #[test]
    fn a_rehash_replaces_only_the_hash_it_verified() {
        let store = crate::store::open(Location::Memory).unwrap();
        store.write(|tx| tx.insert_user("u", "$old", "")).unwrap();
        let replace = |user: &str, stored: &str| {
            store.write(|tx| replace_unless_changed(tx, user, stored, "$new"))
        };
        let hash_of = |user: &str| {
            store
                .read(|tx| tx.user(user))
                .unwrap()
                .map(|record| record.password_hash)
        };
        assert_eq!(replace("u", "$changed").unwrap(), "$changed");
        assert_eq!(hash_of("u").as_deref(), Some("$old"));
        assert_eq!(replace("u", "$old").unwrap(), "$new");
        assert_eq!(hash_of("u").as_deref(), Some("$new"));
        assert_eq!(replace("ghost", "$old").unwrap(), "$old");
        assert_eq!(hash_of("ghost"), None);
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
