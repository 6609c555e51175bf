//! Authentication: who is calling. Checked when a client connects, and again at every call, so that a dropped
//! user or a changed password stops open clients at once.

use zeroize::Zeroizing;

use super::{Registry, DEFAULT_DATABASE};
use crate::error::{AuthFailure, RbacError, Result};
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
#[derive(Clone)]
pub struct Caller {
    user: Option<String>,
    /// Kept to re-verify the credential at each call (through the verified-credential cache).
    password: Zeroizing<String>,
    db_name: String,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Caller({:?}, db={:?})", self.user, self.db_name)
    }
}

impl Caller {
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
        let (user, password) = match credentials {
            Credentials::UserPassword { user, password } => (Some(user.clone()), password.clone()),
            _ => (None, Zeroizing::new(String::new())),
        };
        Caller {
            user,
            password,
            db_name: if db_name.is_empty() {
                DEFAULT_DATABASE.to_string()
            } else {
                db_name.to_string()
            },
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
        Caller {
            user: Some(user.to_string()),
            password: Zeroizing::new(password.to_string()),
            db_name: self.db_name.clone(),
        }
    }
}

/// Longer than any user name a profile accepts (32 characters of at most 4 bytes), with room for the
/// untrimmed white space Milvus 2.4 keeps.
const MAX_USER_NAME_BYTES: usize = 1024;

impl Registry {
    /// Check `credentials` as Milvus's authentication interceptor does. With authorization disabled nothing is
    /// checked, and the caller is whoever the credentials name. `db_name` is the client's database.
    pub fn authenticate(&self, credentials: &Credentials, db_name: &str) -> Result<Caller> {
        let db_name = if db_name.is_empty() {
            DEFAULT_DATABASE
        } else {
            db_name
        };
        let caller = |user: Option<&str>, password: &str| Caller {
            user: user.map(str::to_string),
            password: Zeroizing::new(password.to_string()),
            db_name: db_name.to_string(),
        };
        let fail = |reason| Err(RbacError::Authentication { reason });
        let (user, password) = match credentials {
            Credentials::UserPassword { user, password } => (user, password),
            _ if !self.settings.authorization_enabled => return Ok(caller(None, "")),
            Credentials::Missing => return fail(AuthFailure::MissingAuthorization),
            Credentials::ApiKey => return fail(AuthFailure::BadApiKey),
        };
        if !self.settings.authorization_enabled || self.verify_password(user, password)? {
            Ok(caller(Some(user), password))
        } else {
            fail(AuthFailure::BadCredentials)
        }
    }

    /// Check an open client's credential again: fails once its user is dropped or its password changed.
    pub(super) fn reauthenticate(&self, caller: &Caller) -> Result<()> {
        if !self.settings.authorization_enabled {
            return Ok(());
        }
        let user = caller.user().ok_or(RbacError::Authentication {
            reason: AuthFailure::MissingAuthorization,
        })?;
        if self.verify_password(user, &caller.password)? {
            Ok(())
        } else {
            Err(RbacError::Authentication {
                reason: AuthFailure::BadCredentials,
            })
        }
    }

    /// Whether `password` is `user`'s. A credential verified before against the same stored hash costs a keyed
    /// hash; otherwise one argon2 verification, whether or not the user exists. A stored hash weaker than the
    /// configured parameters is upgraded.
    pub(super) fn verify_password(&self, user: &str, password: &str) -> Result<bool> {
        // No stored password is longer than the profile allows (root's is at most 72 bytes), and no user name
        // of any profile is anywhere near this long: such input is refused without hashing it.
        if password.len() > self.profile().password.max_bytes().max(72)
            || user.len() > MAX_USER_NAME_BYTES
        {
            return Ok(false);
        }
        let Some(stored) = self.read(|tx| tx.password_hash(user))? else {
            self.hasher.verify_decoy(password);
            return Ok(false);
        };
        let verified = if self.verified.contains(password, &stored) {
            // Known to match, maybe from a client with weaker settings: upgrade all the same.
            Verified::Yes {
                rehash: self.hasher.needs_rehash(&stored),
            }
        } else {
            self.hasher.verify(password, &stored)
        };
        match verified {
            Verified::No => Ok(false),
            // A registry this process may only read keeps its weaker hash.
            Verified::Yes { rehash } if !rehash || self.store.is_read_only() => {
                self.verified.insert(password, &stored);
                Ok(true)
            }
            Verified::Yes { .. } => {
                let upgraded = self.hash_password(password)?;
                let current = self.write(|tx| {
                    // Only if nobody changed the password meanwhile.
                    if tx.password_hash(user)?.as_deref() == Some(stored.as_str()) {
                        tx.set_password_hash(user, &upgraded)?;
                        Ok(upgraded)
                    } else {
                        Ok(stored)
                    }
                })?;
                self.verified.insert(password, &current);
                Ok(true)
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
