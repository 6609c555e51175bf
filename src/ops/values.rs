//! The kinds of argument an operation takes, and their values in a form every front can build and read.

use std::fmt;

use zeroize::Zeroizing;

use crate::model::RbacBackup;

/// A password: never shown in a `Debug` output, wiped from memory when dropped.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(text: String) -> Secret {
        Secret(Zeroizing::new(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// What an argument is. The kind decides how each front reads and writes it: Python's conversion and the
/// name pymilvus gives it in messages, the REST field that carries it, the validator that checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// A user name.
    UserName,
    /// The user name of `drop_user`, which pymilvus refuses in words of its own.
    DroppedUser,
    /// A password given to be checked (or the password of a new user).
    Password,
    /// The password that replaces another.
    NewPassword,
    /// A description kept if given (`None`: none given).
    Description,
    /// A description to set.
    NewDescription,
    RoleName,
    ObjectType,
    ObjectName,
    Privilege,
    CollectionName,
    /// A database: `""` is `default`; over REST, the request's database when the body names none.
    Database,
    /// The database of a grant v2: `""` is `default`, and REST reads it from the body only.
    GrantDatabase,
    /// A privilege group's name.
    GroupName,
    /// Privilege names.
    Privileges,
    /// An option of the operation.
    Flag,
    /// A client-side option: go on with the new credential after a password change.
    Reconnect,
    /// How long the client may wait, in seconds (client side).
    Timeout,
    /// A whole registry's RBAC metadata.
    Backup,
    /// A user whose records to keep (`None`: everyone's).
    UserFilter,
    /// A moment, in seconds since the Unix epoch (`None`: from the start).
    Since,
    /// The form of a backup: `milvus-rbac` or `milvus`.
    BackupFormat,
}

impl ArgKind {
    /// Whether the argument concerns the client only: a registry does not read it, and a remote registry
    /// cannot be told it.
    pub fn is_client_side(self) -> bool {
        matches!(self, ArgKind::Reconnect | ArgKind::Timeout)
    }

    /// The value of a text given for an argument of this kind: a secret for passwords, a given description,
    /// a one-name list, `True` for flags; `None` for kinds that are no text.
    pub fn text_value(self, text: &str) -> Option<Value> {
        Some(match self {
            ArgKind::Password | ArgKind::NewPassword => {
                Value::Secret(Secret::new(text.to_string()))
            }
            ArgKind::Description => Value::OptionalText(Some(text.to_string())),
            ArgKind::Privileges => Value::Texts(vec![text.to_string()]),
            ArgKind::Flag | ArgKind::Reconnect => Value::Flag(text == "True"),
            ArgKind::UserFilter => Value::OptionalText(Some(text.to_string())),
            ArgKind::Timeout | ArgKind::Backup | ArgKind::Since => return None,
            _ => Value::Text(text.to_string()),
        })
    }

    /// The value of an argument nobody gave: `declared` (the operation's default) where there is one.
    pub fn default_value(self, declared: Option<&str>) -> Value {
        let text = || declared.unwrap_or_default().to_string();
        match self {
            ArgKind::Password | ArgKind::NewPassword => Value::Secret(Secret::new(text())),
            ArgKind::Description | ArgKind::UserFilter => {
                Value::OptionalText(declared.map(str::to_string))
            }
            ArgKind::Privileges => Value::Texts(Vec::new()),
            ArgKind::Flag | ArgKind::Reconnect => Value::Flag(declared == Some("True")),
            ArgKind::Timeout | ArgKind::Since => Value::Seconds(None),
            ArgKind::Backup => Value::Backup(Box::default()),
            ArgKind::UserName
            | ArgKind::DroppedUser
            | ArgKind::NewDescription
            | ArgKind::RoleName
            | ArgKind::ObjectType
            | ArgKind::ObjectName
            | ArgKind::Privilege
            | ArgKind::CollectionName
            | ArgKind::Database
            | ArgKind::GrantDatabase
            | ArgKind::GroupName
            | ArgKind::BackupFormat => Value::Text(text()),
        }
    }
}

/// The Rust type of each kind, for the argument types of [`super::args`].
pub(super) mod kinds {
    pub type UserName = String;
    pub type DroppedUser = String;
    pub type Password = super::Secret;
    pub type NewPassword = super::Secret;
    pub type Description = Option<String>;
    pub type NewDescription = String;
    pub type RoleName = String;
    pub type ObjectType = String;
    pub type ObjectName = String;
    pub type Privilege = String;
    pub type CollectionName = String;
    pub type Database = String;
    pub type GrantDatabase = String;
    pub type GroupName = String;
    pub type Privileges = Vec<String>;
    pub type Flag = bool;
    pub type Reconnect = bool;
    pub type Timeout = Option<f64>;
    pub type Backup = crate::model::RbacBackup;
    pub type UserFilter = Option<String>;
    pub type Since = Option<f64>;
    pub type BackupFormat = String;
}

/// An argument's value, as a front builds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Secret(Secret),
    OptionalText(Option<String>),
    Texts(Vec<String>),
    Flag(bool),
    Seconds(Option<f64>),
    Backup(Box<RbacBackup>),
}

/// An argument's value, as a front reads it from a request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    Text(&'a str),
    Secret(&'a str),
    OptionalText(Option<&'a str>),
    Texts(&'a [String]),
    Flag(bool),
    Seconds(Option<f64>),
    Backup(&'a RbacBackup),
}

impl ValueRef<'_> {
    /// The text of a text argument (a secret's too); `""` for others.
    pub fn text(&self) -> &str {
        match self {
            ValueRef::Text(text) | ValueRef::Secret(text) => text,
            ValueRef::OptionalText(text) => text.unwrap_or_default(),
            _ => "",
        }
    }
}

impl<'a> From<&'a String> for ValueRef<'a> {
    fn from(text: &'a String) -> Self {
        ValueRef::Text(text)
    }
}

impl<'a> From<&'a Secret> for ValueRef<'a> {
    fn from(secret: &'a Secret) -> Self {
        ValueRef::Secret(secret.as_str())
    }
}

impl<'a> From<&'a Option<String>> for ValueRef<'a> {
    fn from(text: &'a Option<String>) -> Self {
        ValueRef::OptionalText(text.as_deref())
    }
}

impl<'a> From<&'a Vec<String>> for ValueRef<'a> {
    fn from(texts: &'a Vec<String>) -> Self {
        ValueRef::Texts(texts)
    }
}

impl From<&bool> for ValueRef<'_> {
    fn from(flag: &bool) -> Self {
        ValueRef::Flag(*flag)
    }
}

impl From<&Option<f64>> for ValueRef<'_> {
    fn from(seconds: &Option<f64>) -> Self {
        ValueRef::Seconds(*seconds)
    }
}

impl<'a> From<&'a RbacBackup> for ValueRef<'a> {
    fn from(backup: &'a RbacBackup) -> Self {
        ValueRef::Backup(backup)
    }
}

impl From<ValueRef<'_>> for Value {
    fn from(value: ValueRef<'_>) -> Value {
        match value {
            ValueRef::Text(text) => Value::Text(text.to_string()),
            ValueRef::Secret(text) => Value::Secret(Secret::new(text.to_string())),
            ValueRef::OptionalText(text) => Value::OptionalText(text.map(str::to_string)),
            ValueRef::Texts(texts) => Value::Texts(texts.to_vec()),
            ValueRef::Flag(flag) => Value::Flag(flag),
            ValueRef::Seconds(seconds) => Value::Seconds(seconds),
            ValueRef::Backup(backup) => Value::Backup(Box::new(backup.clone())),
        }
    }
}

/// An argument's Rust value from a [`Value`] of its kind; `None` for a value of another kind.
pub trait FromValue: Sized {
    fn from_value(value: Value) -> Option<Self>;
}

impl FromValue for String {
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Text(text) => Some(text),
            _ => None,
        }
    }
}

impl FromValue for Secret {
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Secret(secret) => Some(secret),
            _ => None,
        }
    }
}

impl FromValue for Option<String> {
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::OptionalText(text) => Some(text),
            _ => None,
        }
    }
}

impl FromValue for Vec<String> {
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Texts(texts) => Some(texts),
            _ => None,
        }
    }
}

impl FromValue for bool {
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Flag(flag) => Some(flag),
            _ => None,
        }
    }
}

impl FromValue for Option<f64> {
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Seconds(seconds) => Some(seconds),
            _ => None,
        }
    }
}

impl FromValue for RbacBackup {
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Backup(backup) => Some(*backup),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_never_shown() {
        let secret = Secret::new("P@ssw0rd".into());
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(
            format!("{:?}", Value::Secret(secret.clone())),
            "Secret(***)"
        );
        assert_eq!(secret.as_str(), "P@ssw0rd");
    }

    /// Texts become values by kind: passwords secret, descriptions given, a privilege list of one, flags `True`.
    #[test]
    fn texts_become_values_by_kind() {
        let value = |kind: ArgKind, text: &str| kind.text_value(text);
        assert_eq!(
            value(ArgKind::Password, "pw"),
            Some(Value::Secret(Secret::new("pw".into())))
        );
        assert_eq!(
            value(ArgKind::Description, "d"),
            Some(Value::OptionalText(Some("d".into())))
        );
        assert_eq!(
            value(ArgKind::UserFilter, "u"),
            Some(Value::OptionalText(Some("u".into())))
        );
        assert_eq!(
            value(ArgKind::Privileges, "Search"),
            Some(Value::Texts(vec!["Search".into()]))
        );
        assert_eq!(value(ArgKind::Flag, "True"), Some(Value::Flag(true)));
        assert_eq!(value(ArgKind::Reconnect, "False"), Some(Value::Flag(false)));
        for kind in [ArgKind::Timeout, ArgKind::Backup, ArgKind::Since] {
            assert_eq!(value(kind, "1"), None, "{kind:?}");
        }
        assert_eq!(value(ArgKind::RoleName, "r"), Some(Value::Text("r".into())));
    }

    #[test]
    fn only_the_client_reads_client_side_arguments() {
        assert!(ArgKind::Reconnect.is_client_side() && ArgKind::Timeout.is_client_side());
        assert!(!ArgKind::Flag.is_client_side() && !ArgKind::Password.is_client_side());
    }

    #[test]
    fn the_text_of_a_value() {
        assert_eq!(ValueRef::Text("t").text(), "t");
        assert_eq!(ValueRef::Secret("s").text(), "s");
        assert_eq!(ValueRef::OptionalText(Some("o")).text(), "o");
        assert_eq!(ValueRef::OptionalText(None).text(), "");
        assert_eq!(ValueRef::Flag(true).text(), "");
    }
}
