//! Authentication: who is calling, checked once when a client connects.

use super::Registry;
use crate::error::{AuthFailure, RbacError, Result};
use crate::password::Verified;

/// The credentials a client connects with, read as pymilvus reads its constructor's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// Nothing usable was given: pymilvus then sends no authorization at all.
    Missing,
    /// A token without a colon, which Milvus takes for an API key.
    ApiKey,
    UserPassword {
        user: String,
        password: String,
    },
}

impl Credentials {
    /// `user` and `password` win when both are given; otherwise `token` is `user:password`, split at the first
    /// colon (so passwords may contain colons).
    pub fn parse(user: &str, password: &str, token: &str) -> Credentials {
        if !user.is_empty() && !password.is_empty() {
            return Credentials::UserPassword {
                user: user.to_string(),
                password: password.to_string(),
            };
        }
        if token.is_empty() {
            return Credentials::Missing;
        }
        match token.split_once(':') {
            Some((user, password)) => Credentials::UserPassword {
                user: user.to_string(),
                password: password.to_string(),
            },
            None => Credentials::ApiKey,
        }
    }

    fn user(&self) -> Option<&str> {
        match self {
            Credentials::UserPassword { user, .. } => Some(user),
            _ => None,
        }
    }
}

/// The identity operations run as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// `None` only when authorization is disabled and no credentials were given.
    pub user: Option<String>,
}

impl Registry {
    /// Check `credentials` as Milvus's authentication interceptor does. With authorization disabled nothing is
    /// checked, and the caller is whoever the credentials name.
    pub fn authenticate(&self, credentials: &Credentials) -> Result<Caller> {
        if !self.settings.authorization_enabled {
            return Ok(Caller {
                user: credentials.user().map(str::to_string),
            });
        }
        let fail = |reason| Err(RbacError::Authentication { reason });
        let (user, password) = match credentials {
            Credentials::Missing => return fail(AuthFailure::MissingAuthorization),
            Credentials::ApiKey => return fail(AuthFailure::BadApiKey),
            Credentials::UserPassword { user, password } => (user, password),
        };
        if self.verify_password(user, password)? {
            Ok(Caller {
                user: Some(user.clone()),
            })
        } else {
            fail(AuthFailure::BadCredentials)
        }
    }

    /// Whether `password` is `user`'s. Costs one argon2 verification whether or not the user exists, and
    /// upgrades a stored hash weaker than the configured parameters.
    pub(super) fn verify_password(&self, user: &str, password: &str) -> Result<bool> {
        // No stored password is longer than the profile allows (root's is at most 72 bytes).
        if password.len() > self.profile().password.max_bytes().max(72) {
            return Ok(false);
        }
        let Some(stored) = self.read(|tx| tx.password_hash(user))? else {
            self.hasher.verify_decoy(password);
            return Ok(false);
        };
        match self.hasher.verify(password, &stored) {
            Verified::No => Ok(false),
            Verified::Yes { rehash: false } => Ok(true),
            Verified::Yes { rehash: true } => {
                let upgraded = self.hasher.hash(password)?;
                self.write(|tx| {
                    // Only if nobody changed the password meanwhile.
                    if tx.password_hash(user)?.as_deref() == Some(stored.as_str()) {
                        tx.set_password_hash(user, &upgraded)?;
                    }
                    Ok(true)
                })
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

    #[test]
    fn credentials_are_read_as_pymilvus_reads_them() {
        assert_eq!(
            Credentials::parse("", "", "root:Mil:vus"),
            Credentials::UserPassword {
                user: "root".into(),
                password: "Mil:vus".into()
            }
        );
        assert_eq!(Credentials::parse("root", "", ""), Credentials::Missing);
        assert_eq!(Credentials::parse("", "Milvus", ""), Credentials::Missing);
        assert_eq!(
            Credentials::parse("", "", "rootMilvus"),
            Credentials::ApiKey
        );
        assert_eq!(
            Credentials::parse("root", "Milvus", "x:y"),
            Credentials::UserPassword {
                user: "root".into(),
                password: "Milvus".into()
            }
        );
    }

    #[test]
    fn authentication_failures_carry_milvus_reasons() {
        let (registry, _) = registry(ProfileName::Milvus24);
        let auth = |token: &str| registry.authenticate(&Credentials::parse("", "", token));
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
        assert_eq!(auth("root:Milvus").unwrap().user.as_deref(), Some("root"));
    }

    #[test]
    fn authorization_disabled_checks_nothing() {
        let options = RegistryOptions {
            authorization_enabled: Some(false),
            password_hash: Some(HashStrength::Fast),
            ..RegistryOptions::default()
        };
        let registry = Registry::open(Location::Memory, &options).unwrap();
        let caller = registry.authenticate(&Credentials::Missing).unwrap();
        assert_eq!(caller.user, None);
    }
}
