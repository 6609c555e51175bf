//! A registry's settings: chosen when it is created, stored in it, and checked when it is reopened.

use std::fmt;
use std::str::FromStr;

use crate::audit::DEFAULT_RETENTION;
use crate::error::{RbacError, Result};
use crate::password::HashStrength;
use crate::profile::ProfileName;
use crate::store::{Location, ReadTx, WriteTx};

/// Defines [`SettingName`] and the list of its names, from one list.
macro_rules! setting_names {
    ($($variant:ident = $name:literal,)*) => {
        /// A setting, by the name `MilvusClient(...)` and `serve(...)` take it as a keyword, error messages give
        /// it and a registry stores it under (a stored key is the setting's name: renaming a setting would need a
        /// migration of every registry file).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum SettingName {
            $($variant,)*
        }

        impl SettingName {
            /// Every setting, in the order of the keyword arguments (Python's `_core.SETTINGS` is made from it).
            pub const ALL: [SettingName; [$($name,)*].len()] = [$(SettingName::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(SettingName::$variant => $name,)*
                }
            }
        }
    };
}

setting_names! {
    Profile = "profile",
    RootPassword = "root_password",
    SuperUsers = "super_users",
    MaxUsers = "max_users",
    MaxRoles = "max_roles",
    AuthorizationEnabled = "authorization_enabled",
    RootShouldBindRole = "root_should_bind_role",
    PasswordHash = "password_hash",
    AuditRetention = "audit_retention",
}

impl fmt::Display for SettingName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A limit on users or roles; `None` is unlimited.
pub type Limit = Option<u64>;

/// What the caller asked for; `None` means "not given": the stored value, or the default for a new registry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryOptions {
    pub profile: Option<ProfileName>,
    /// root's password when the registry is created; ignored when it is reopened.
    pub root_password: Option<String>,
    pub super_users: Option<Vec<String>>,
    pub max_users: Option<Limit>,
    pub max_roles: Option<Limit>,
    pub authorization_enabled: Option<bool>,
    /// Not a stored setting: each client decides, as each Milvus proxy reads `rootShouldBindRole` from its
    /// configuration (so root can be given a role first, then bound to it).
    pub root_should_bind_role: Option<bool>,
    pub password_hash: Option<HashStrength>,
    /// How many audit records the registry keeps (the newest).
    pub audit_retention: Option<u64>,
}

/// The settings of an open registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub profile: ProfileName,
    /// Users who may change other users' passwords without the old one.
    pub super_users: Vec<String>,
    /// Counts every user, root included, as Milvus does.
    pub max_users: Limit,
    /// Counts every role, admin and public included, as Milvus does.
    pub max_roles: Limit,
    pub authorization_enabled: bool,
    pub password_hash: HashStrength,
    /// How many audit records the registry keeps: the oldest go as new ones come.
    pub audit_retention: u64,
}

/// Milvus's `common.security.defaultRootPassword`.
pub const DEFAULT_ROOT_PASSWORD: &str = "Milvus";
/// Milvus caps the default root password at bcrypt's 72 bytes.
const MAX_ROOT_PASSWORD_BYTES: usize = 72;

fn param(message: String) -> RbacError {
    RbacError::Param { message }
}

fn limit_text(limit: Limit) -> String {
    limit.map_or_else(|| "None".to_string(), |n| n.to_string())
}

fn stored_limit(limit: Limit) -> String {
    limit.map_or_else(|| "none".to_string(), |n| n.to_string())
}

fn stored_flag(flag: bool) -> &'static str {
    if flag {
        "true"
    } else {
        "false"
    }
}

fn parse_flag(text: &str) -> Option<bool> {
    match text {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

fn parse_limit(text: &str) -> Option<Limit> {
    match text {
        "none" => Some(None),
        _ => text.parse().ok().map(Some),
    }
}

fn unreadable(name: SettingName) -> RbacError {
    RbacError::Storage {
        message: format!("the registry's stored setting `{name}` is unreadable"),
    }
}

/// The stored value of `name`, read by `parse`.
fn stored<T>(tx: &dyn ReadTx, name: SettingName, parse: impl Fn(&str) -> Option<T>) -> Result<T> {
    let text = tx.setting(name.as_str())?.ok_or_else(|| unreadable(name))?;
    parse(&text).ok_or_else(|| unreadable(name))
}

impl Settings {
    /// The settings of a new registry: what was given, else Milvus's defaults.
    pub fn for_new_registry(options: &RegistryOptions) -> Result<Settings> {
        let mut super_users = options.super_users.clone().unwrap_or_default();
        super_users.sort();
        super_users.dedup();
        let settings = Settings {
            profile: options.profile.unwrap_or(ProfileName::Docs),
            super_users,
            max_users: options.max_users.unwrap_or(Some(100)),
            max_roles: options.max_roles.unwrap_or(Some(10)),
            authorization_enabled: options.authorization_enabled.unwrap_or(true),
            password_hash: options.password_hash.unwrap_or(HashStrength::Strong),
            audit_retention: options.audit_retention.unwrap_or(DEFAULT_RETENTION),
        };
        if settings.audit_retention == 0 {
            return Err(param(format!(
                "`{}` must be at least 1: every change is recorded",
                SettingName::AuditRetention
            )));
        }
        if settings.max_users == Some(0) {
            return Err(param(format!(
                "`{}` must be at least 1: root counts as a user",
                SettingName::MaxUsers
            )));
        }
        if matches!(settings.max_roles, Some(n) if n < 2) {
            return Err(param(format!(
                "`{}` must be at least 2: admin and public count as roles",
                SettingName::MaxRoles
            )));
        }
        Ok(settings)
    }

    /// The root password a new registry starts with.
    pub fn root_password(options: &RegistryOptions) -> Result<&str> {
        let password = options
            .root_password
            .as_deref()
            .unwrap_or(DEFAULT_ROOT_PASSWORD);
        if password.is_empty() || password.len() > MAX_ROOT_PASSWORD_BYTES {
            return Err(param(format!(
                "`{}` must be 1 to {MAX_ROOT_PASSWORD_BYTES} bytes long",
                SettingName::RootPassword
            )));
        }
        Ok(password)
    }

    /// Store the settings, each under its name (super users in their own table).
    pub fn save(&self, tx: &mut dyn WriteTx) -> Result<()> {
        let mut set = |name: SettingName, value: &str| tx.set_setting(name.as_str(), value);
        set(SettingName::Profile, self.profile.as_str())?;
        set(SettingName::MaxUsers, &stored_limit(self.max_users))?;
        set(SettingName::MaxRoles, &stored_limit(self.max_roles))?;
        set(
            SettingName::AuthorizationEnabled,
            stored_flag(self.authorization_enabled),
        )?;
        set(SettingName::PasswordHash, self.password_hash.as_str())?;
        set(
            SettingName::AuditRetention,
            &self.audit_retention.to_string(),
        )?;
        for user in &self.super_users {
            tx.add_super_user(user)?;
        }
        Ok(())
    }

    /// The stored settings, or `None` for a registry that was never set up.
    pub fn load(tx: &dyn ReadTx) -> Result<Option<Settings>> {
        let Some(profile) = tx.setting(SettingName::Profile.as_str())? else {
            return Ok(None);
        };
        Ok(Some(Settings {
            profile: ProfileName::from_str(&profile)
                .map_err(|_| unreadable(SettingName::Profile))?,
            super_users: tx.super_users()?,
            max_users: stored(tx, SettingName::MaxUsers, parse_limit)?,
            max_roles: stored(tx, SettingName::MaxRoles, parse_limit)?,
            authorization_enabled: stored(tx, SettingName::AuthorizationEnabled, parse_flag)?,
            password_hash: stored(tx, SettingName::PasswordHash, |text| {
                HashStrength::from_str(text).ok()
            })?,
            // A registry made before the audit trail keeps the default.
            audit_retention: match tx.setting(SettingName::AuditRetention.as_str())? {
                None => DEFAULT_RETENTION,
                Some(text) => text
                    .parse()
                    .map_err(|_| unreadable(SettingName::AuditRetention))?,
            },
        }))
    }

    /// Refuse options that contradict what the registry was created with.
    pub fn check_reopened_with(
        &self,
        options: &RegistryOptions,
        location: &Location,
    ) -> Result<()> {
        let mismatch = |name: SettingName, stored: String, given: String| {
            param(format!(
                "`{name}` of registry {} is {stored} (set when it was created), not {given}; \
                 leave `{name}` out to use the stored value",
                location.describe()
            ))
        };
        if let Some(profile) = options.profile.filter(|p| *p != self.profile) {
            return Err(mismatch(
                SettingName::Profile,
                format!("{:?}", self.profile.as_str()),
                format!("{:?}", profile.as_str()),
            ));
        }
        if let Some(users) = &options.super_users {
            let mut given = users.clone();
            given.sort();
            given.dedup();
            if given != self.super_users {
                return Err(mismatch(
                    SettingName::SuperUsers,
                    format!("{:?}", self.super_users),
                    format!("{given:?}"),
                ));
            }
        }
        if let Some(limit) = options.max_users.filter(|l| *l != self.max_users) {
            return Err(mismatch(
                SettingName::MaxUsers,
                limit_text(self.max_users),
                limit_text(limit),
            ));
        }
        if let Some(limit) = options.max_roles.filter(|l| *l != self.max_roles) {
            return Err(mismatch(
                SettingName::MaxRoles,
                limit_text(self.max_roles),
                limit_text(limit),
            ));
        }
        let show = |b: bool| if b { "True" } else { "False" }.to_string();
        if let Some(given) = options
            .authorization_enabled
            .filter(|g| *g != self.authorization_enabled)
        {
            return Err(mismatch(
                SettingName::AuthorizationEnabled,
                show(self.authorization_enabled),
                show(given),
            ));
        }
        if let Some(strength) = options.password_hash.filter(|s| *s != self.password_hash) {
            return Err(mismatch(
                SettingName::PasswordHash,
                format!("{:?}", self.password_hash.as_str()),
                format!("{:?}", strength.as_str()),
            ));
        }
        if let Some(kept) = options
            .audit_retention
            .filter(|kept| *kept != self.audit_retention)
        {
            return Err(mismatch(
                SettingName::AuditRetention,
                self.audit_retention.to_string(),
                kept.to_string(),
            ));
        }
        Ok(())
    }

    /// Whether `user` may change other users' passwords without the old one.
    pub fn is_super_user(&self, user: &str) -> bool {
        self.super_users.iter().any(|name| name == user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{self, Store};

    /// A fresh in-memory store.
    fn memory() -> Box<dyn Store> {
        store::open(Location::Memory).unwrap()
    }

    /// Options unlike every default.
    fn unusual_options() -> RegistryOptions {
        RegistryOptions {
            profile: Some(ProfileName::Milvus25),
            super_users: Some(vec!["b".into(), "a".into(), "b".into()]),
            max_users: Some(Some(3)),
            max_roles: Some(None),
            authorization_enabled: Some(false),
            password_hash: Some(HashStrength::Fast),
            audit_retention: Some(7),
            ..RegistryOptions::default()
        }
    }

    /// The settings of a new registry given `unusual_options`.
    fn unusual() -> Settings {
        Settings::for_new_registry(&unusual_options()).unwrap()
    }

    #[test]
    fn settings_are_stored_and_read_back_as_they_were() {
        let store = memory();
        assert_eq!(store.read(Settings::load).unwrap(), None);
        let settings = unusual();
        assert_eq!(settings.super_users, ["a", "b"]);
        store.write(|tx| settings.save(tx)).unwrap();
        assert_eq!(store.read(Settings::load).unwrap(), Some(settings.clone()));
        let defaults = Settings::for_new_registry(&RegistryOptions::default()).unwrap();
        let other = memory();
        other.write(|tx| defaults.save(tx)).unwrap();
        assert_eq!(other.read(Settings::load).unwrap(), Some(defaults));
        // Each setting under its name, as the stores keep them.
        let stored = |name: SettingName| store.read(|tx| tx.setting(name.as_str())).unwrap();
        assert_eq!(stored(SettingName::MaxUsers).as_deref(), Some("3"));
        assert_eq!(stored(SettingName::MaxRoles).as_deref(), Some("none"));
        assert_eq!(
            stored(SettingName::AuthorizationEnabled).as_deref(),
            Some("false")
        );
        assert_eq!(stored(SettingName::PasswordHash).as_deref(), Some("fast"));
        assert_eq!(stored(SettingName::AuditRetention).as_deref(), Some("7"));
        assert_eq!(parse_flag("true"), Some(true));
        assert_eq!(stored_flag(true), "true");
    }

    #[test]
    fn an_unreadable_stored_setting_is_a_storage_error_naming_it() {
        for (name, text) in [
            (SettingName::Profile, "milvus-1.0"),
            (SettingName::MaxUsers, "many"),
            (SettingName::AuthorizationEnabled, "yes"),
            (SettingName::PasswordHash, "md5"),
            (SettingName::AuditRetention, "-1"),
        ] {
            let store = memory();
            store.write(|tx| unusual().save(tx)).unwrap();
            store
                .write(|tx| tx.set_setting(name.as_str(), text))
                .unwrap();
            let err = store.read(Settings::load).unwrap_err();
            assert!(matches!(err, RbacError::Storage { .. }), "{err:?}");
            assert_eq!(
                err.to_string(),
                format!("the registry's stored setting `{name}` is unreadable")
            );
        }
    }

    #[test]
    fn reopening_with_other_settings_is_refused_naming_both_values() {
        let settings = unusual();
        let location = Location::File("r.db".into());
        let reopened = |options: RegistryOptions| {
            settings
                .check_reopened_with(&options, &location)
                .map_err(|err| err.to_string())
        };
        // The same super users in another order, named twice, are the same.
        let same = RegistryOptions {
            super_users: Some(vec!["b".into(), "a".into(), "a".into()]),
            ..unusual_options()
        };
        assert_eq!(reopened(same.clone()), Ok(()));
        assert_eq!(reopened(RegistryOptions::default()), Ok(()));
        let tail = "(set when it was created), not";
        let refusals = [
            (RegistryOptions { profile: Some(ProfileName::Docs), ..same.clone() }, "`profile` of registry r.db is \"milvus-2.5\" (set when it was created), not \"docs\"; leave `profile` out to use the stored value"),
            (RegistryOptions { super_users: Some(vec!["a".into()]), ..same.clone() }, "is [\"a\", \"b\"] (set when it was created), not [\"a\"]"),
            (RegistryOptions { max_users: Some(None), ..same.clone() }, "`max_users` of registry r.db is 3 (set when it was created), not None"),
            (RegistryOptions { max_roles: Some(Some(5)), ..same.clone() }, "`max_roles` of registry r.db is None (set when it was created), not 5"),
            (RegistryOptions { authorization_enabled: Some(true), ..same.clone() }, "is False (set when it was created), not True"),
            (RegistryOptions { password_hash: Some(HashStrength::Strong), ..same.clone() }, "is \"fast\" (set when it was created), not \"strong\""),
            (RegistryOptions { audit_retention: Some(8), ..same.clone() }, "is 7 (set when it was created), not 8"),
        ];
        for (options, words) in refusals {
            let refused = reopened(options).unwrap_err();
            assert!(
                refused.contains(words) && refused.contains(tail),
                "{refused}"
            );
        }
    }

    /// Root's first password: Milvus's default unless given, 1 to 72 bytes (bcrypt's limit, as Milvus caps it).
    #[test]
    fn roots_first_password_is_1_to_72_bytes() {
        let with = |password: Option<&str>| {
            let options = RegistryOptions {
                root_password: password.map(str::to_string),
                ..RegistryOptions::default()
            };
            Settings::root_password(&options).map(str::to_string)
        };
        assert_eq!(with(None).unwrap(), "Milvus");
        let longest = "p".repeat(72);
        assert_eq!(with(Some(&longest)).unwrap(), longest);
        for refused in [String::new(), "p".repeat(73)] {
            assert_eq!(
                with(Some(&refused)).unwrap_err().to_string(),
                "`root_password` must be 1 to 72 bytes long"
            );
        }
    }

    #[test]
    fn super_users_are_those_named() {
        let settings = unusual();
        assert!(settings.is_super_user("a") && settings.is_super_user("b"));
        assert!(!settings.is_super_user("root") && !settings.is_super_user(""));
    }

    #[test]
    fn setting_names_are_distinct_identifiers() {
        let mut names: Vec<&str> = SettingName::ALL.iter().map(|s| s.as_str()).collect();
        assert!(names
            .iter()
            .all(|name| name.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
        names.sort();
        names.dedup();
        assert_eq!(names.len(), SettingName::ALL.len());
        assert_eq!(SettingName::MaxUsers.to_string(), "max_users");
    }
}
