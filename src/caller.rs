//! Who calls: the credentials a client connects with, and the caller its requests run as.

use std::sync::{Mutex, MutexGuard};

use zeroize::Zeroizing;

use crate::model::database_or_default;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

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
    pub(crate) fn new(user: Option<&str>, password: &str, db_name: &str) -> Caller {
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

    /// The password the caller authenticates with (checked again at every call).
    pub(crate) fn password(&self) -> &str {
        &self.password
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
    pub(crate) fn verified_at(&self, credentials: u64) -> bool {
        lock(&self.verified)
            .as_ref()
            .is_some_and(|(_, at)| *at == credentials)
    }

    pub(crate) fn was_verified_against(&self, password_hash: &str) -> bool {
        lock(&self.verified)
            .as_ref()
            .is_some_and(|(hash, _)| hash == password_hash)
    }

    /// Remember that the password matches `password_hash`, read after the credential count was `credentials`.
    pub(crate) fn remember_verified(&self, password_hash: String, credentials: u64) {
        *lock(&self.verified) = Some((password_hash, credentials));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
