//! The registry's domain: the values the rules, the stores and the fronts exchange. Nothing here knows how
//! they are stored or carried.

/// The user created with the registry, which cannot be dropped.
pub const ROOT_USER: &str = "root";
/// The role every holder of which passes every privilege check.
pub const ADMIN_ROLE: &str = "admin";
/// The role every user implicitly holds.
pub const PUBLIC_ROLE: &str = "public";
/// The database Milvus assumes when none is named.
pub const DEFAULT_DATABASE: &str = "default";
/// Matches every database, object or privilege.
pub const ANY: &str = "*";

/// Milvus reads an empty database name as `default`: the one place that rule is written.
pub fn database_or_default(db_name: &str) -> &str {
    if db_name.is_empty() {
        DEFAULT_DATABASE
    } else {
        db_name
    }
}

/// Whether `role_name` is one of the two roles every registry has.
pub fn is_builtin_role(role_name: &str) -> bool {
    role_name == ADMIN_ROLE || role_name == PUBLIC_ROLE
}

/// Names in the order they were read, stored back to back in one string: a list of thousands of users costs
/// two allocations instead of one per name (which were most of `list_users`' cost).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    text: String,
    /// Where each name ends in `text`.
    ends: Vec<usize>,
}

impl Names {
    pub fn push(&mut self, name: &str) {
        self.text.push_str(name);
        self.ends.push(self.text.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.ends.len()).map(|index| {
            let start = index.checked_sub(1).map_or(0, |before| self.ends[before]);
            // Every end was a `str` boundary when it was pushed.
            &self.text[start..self.ends[index]]
        })
    }

    pub fn contains(&self, name: &str) -> bool {
        self.iter().any(|candidate| candidate == name)
    }
}

impl<S: AsRef<str>> FromIterator<S> for Names {
    fn from_iter<I: IntoIterator<Item = S>>(names: I) -> Names {
        let mut collected = Names::default();
        for name in names {
            collected.push(name.as_ref());
        }
        collected
    }
}

/// One grant: `privilege` on `object_type`/`db_name`.`object_name`, held by `role_name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grant {
    pub role_name: String,
    pub object_type: String,
    pub db_name: String,
    pub object_name: String,
    pub privilege: String,
    /// Who granted it: the first grantor stays when the same grant is made again.
    pub grantor: String,
}

/// A user as a registry keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub name: String,
    /// An argon2id PHC string.
    pub password_hash: String,
    pub description: String,
}

/// What `describe_user` shows of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDescription {
    pub name: String,
    /// Sorted by byte order; the implicit `public` is not listed.
    pub roles: Vec<String>,
    pub description: String,
}

/// What `describe_role` shows of a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleDescription {
    pub name: String,
    pub description: String,
    /// In Milvus's order: object type, then `<db>.<object name>`, then privilege.
    pub grants: Vec<Grant>,
}

/// A privilege group with its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub privileges: Vec<String>,
}

/// A user in a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupUser {
    pub name: String,
    /// An argon2id PHC string.
    pub password_hash: String,
    pub description: String,
    pub roles: Vec<String>,
}

/// A role in a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupRole {
    pub name: String,
    pub description: String,
}

/// The form a backup is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackupFormat {
    /// This project's: versioned, with descriptions (`backup_rbac()`'s dict).
    #[default]
    MilvusRbac,
    /// Milvus's `RBACMeta`, as milvus-backup writes it.
    Milvus,
}

impl BackupFormat {
    pub const ALL: [BackupFormat; 2] = [BackupFormat::MilvusRbac, BackupFormat::Milvus];

    pub fn as_str(self) -> &'static str {
        match self {
            BackupFormat::MilvusRbac => "milvus-rbac",
            BackupFormat::Milvus => "milvus",
        }
    }

    /// The format a `format` argument names.
    pub fn parse(text: &str) -> crate::error::Result<BackupFormat> {
        BackupFormat::ALL
            .into_iter()
            .find(|format| format.as_str() == text)
            .ok_or_else(|| crate::error::RbacError::Param {
                message: format!(
                    "`format` value {text} is illegal: a backup is written as {}",
                    BackupFormat::ALL.map(BackupFormat::as_str).join(" or ")
                ),
            })
    }
}

/// The RBAC metadata of a registry, as Milvus's BackupRBAC holds it: users but root, roles but admin and
/// public, the grants of those roles, and custom groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RbacBackup {
    pub users: Vec<BackupUser>,
    pub roles: Vec<BackupRole>,
    pub grants: Vec<Grant>,
    pub groups: Vec<Group>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_formats_are_named_as_the_format_argument_names_them() {
        assert_eq!(BackupFormat::parse("milvus").unwrap(), BackupFormat::Milvus);
        assert_eq!(
            BackupFormat::parse("milvus-rbac").unwrap(),
            BackupFormat::MilvusRbac
        );
        assert_eq!(
            BackupFormat::parse("json").unwrap_err().to_string(),
            "`format` value json is illegal: a backup is written as milvus-rbac or milvus"
        );
    }

    #[test]
    fn names_come_back_as_pushed() {
        let names: Names = ["", "root", "ünïcode", "a", ""].into_iter().collect();
        assert_eq!(names.len(), 5);
        assert_eq!(
            names.iter().collect::<Vec<_>>(),
            ["", "root", "ünïcode", "a", ""]
        );
        assert!(names.contains("a") && names.contains("") && !names.contains("roo"));
        assert!(Names::default().is_empty());
        assert!(!names.is_empty());
    }

    #[test]
    fn an_empty_database_is_default() {
        assert_eq!(database_or_default(""), "default");
        assert_eq!(database_or_default("db1"), "db1");
        assert_eq!(database_or_default(ANY), ANY);
    }
}
