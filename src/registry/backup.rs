//! RBAC backup and restore (Milvus's BackupRBAC/RestoreRBAC, which pymilvus does not expose).
//!
//! A backup holds what Milvus's does: users but root (with password hashes and their stored roles, admin and
//! public included), roles but admin and public, the grants of those roles, and custom groups. A restore is
//! all-or-nothing, and checks what Milvus checks in its order: roles, groups, grants, users.

use std::collections::BTreeSet;

use super::{Call, Registry};
use crate::catalog::ObjectType;
use crate::error::{RbacError, Result};
use crate::model::{
    is_builtin_role, BackupFormat, BackupRole, BackupUser, RbacBackup, ANY, ROOT_USER,
};
use crate::ops::args;
use crate::password;
use crate::validate;

impl Registry {
    /// Everything but root, admin and public, in byte order.
    pub(super) fn backup_rbac(
        &self,
        _call: &Call<'_>,
        args: &args::BackupRbac,
    ) -> Result<(RbacBackup, BackupFormat)> {
        let format = BackupFormat::parse(&args.format)?;
        let backup = self.read(|tx| {
            let users = tx
                .users()?
                .into_iter()
                .filter(|user| user.name != ROOT_USER)
                .map(|user| {
                    Ok(BackupUser {
                        roles: tx.roles_of_user(&user.name)?,
                        name: user.name,
                        password_hash: user.password_hash,
                        description: user.description,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let roles = tx
                .role_names()?
                .iter()
                .filter(|name| !is_builtin_role(name))
                .map(|name| {
                    let description = tx.role(name)?.unwrap_or_default();
                    Ok(BackupRole {
                        name: name.to_string(),
                        description,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let groups = tx.groups()?;
            let grants = tx
                .grants()?
                .into_iter()
                .filter(|grant| !is_builtin_role(&grant.role_name))
                .collect();
            Ok(RbacBackup {
                users,
                roles,
                grants,
                groups,
            })
        })?;
        Ok((backup, format))
    }

    /// Restore a backup into this registry: refused whole if any user, role or group exists already, or if
    /// anything it references is missing.
    pub(super) fn restore_rbac(&self, call: &Call<'_>, args: &args::RestoreRbac) -> Result<()> {
        let backup = &args.meta;
        let profile = self.profile();
        self.check_backup(backup)?;
        let catalog = profile.catalog;
        let conflict = |message: String| {
            self.check_failed(
                "failed to check if rbac restorable",
                RbacError::RestoreConflict { message },
            )
        };
        call.write(|tx| {
            for role in &backup.roles {
                if tx.role(&role.name)?.is_some() {
                    return Err(conflict(format!("role [{}] already exists", role.name)));
                }
            }
            for group in &backup.groups {
                if tx.group_exists(&group.name)? || catalog.is_defined(&group.name) {
                    return Err(conflict(format!(
                        "privilege group [{}] already exists",
                        group.name
                    )));
                }
            }
            let backup_roles: BTreeSet<&str> =
                backup.roles.iter().map(|r| r.name.as_str()).collect();
            let backup_groups: BTreeSet<&str> =
                backup.groups.iter().map(|g| g.name.as_str()).collect();
            let role_known = |name: &str| -> Result<bool> {
                Ok(backup_roles.contains(name) || tx.role(name)?.is_some())
            };
            for grant in &backup.grants {
                let known = grant.privilege == ANY
                    || catalog.is_defined(&grant.privilege)
                    || backup_groups.contains(grant.privilege.as_str())
                    || tx.group_exists(&grant.privilege)?;
                if !known {
                    // Milvus 2.5 words every unknown name as a group.
                    let what = if profile.prefix_check_failures {
                        "privilege"
                    } else {
                        "privilege group"
                    };
                    return Err(conflict(format!(
                        "{what} [{}] does not exist",
                        grant.privilege
                    )));
                }
                if !role_known(&grant.role_name)? {
                    return Err(conflict(format!(
                        "role [{}] does not exist",
                        grant.role_name
                    )));
                }
            }
            for user in &backup.users {
                if tx.user(&user.name)?.is_some() {
                    return Err(conflict(format!("user [{}] already exists", user.name)));
                }
                for role in &user.roles {
                    if !role_known(role)? {
                        return Err(conflict(format!("role [{role}] does not exist")));
                    }
                }
            }
            let kept = |description: &'_ str| {
                if profile.descriptions {
                    description.to_string()
                } else {
                    String::new()
                }
            };
            for role in &backup.roles {
                tx.insert_role(&role.name, &kept(&role.description))?;
            }
            for group in &backup.groups {
                tx.insert_group(&group.name)?;
                for privilege in &group.privileges {
                    tx.add_group_member(&group.name, privilege)?;
                }
            }
            for grant in &backup.grants {
                tx.insert_grant(grant)?;
            }
            for user in &backup.users {
                tx.insert_user(&user.name, &user.password_hash, &kept(&user.description))?;
                for role in &user.roles {
                    tx.add_user_role(&user.name, role)?;
                }
            }
            Ok(())
        })
    }

    /// Refuse a backup that no registry of this profile could have written: bad names, hashes, object types,
    /// duplicates, or privilege groups where the profile has none.
    fn check_backup(&self, backup: &RbacBackup) -> Result<()> {
        let profile = self.profile();
        let catalog = profile.catalog;
        let malformed = |what: String| RbacError::Param {
            message: format!("invalid RBAC backup: {what}"),
        };
        let unique = |kind: &str, names: Vec<&str>| -> Result<()> {
            let mut seen = BTreeSet::new();
            match names.into_iter().find(|name| !seen.insert(*name)) {
                Some(name) => Err(malformed(format!("{kind} [{name}] appears twice"))),
                None => Ok(()),
            }
        };
        unique(
            "user",
            backup.users.iter().map(|u| u.name.as_str()).collect(),
        )?;
        unique(
            "role",
            backup.roles.iter().map(|r| r.name.as_str()).collect(),
        )?;
        unique(
            "privilege group",
            backup.groups.iter().map(|g| g.name.as_str()).collect(),
        )?;
        for user in &backup.users {
            validate::username(&profile.username, &user.name)?;
            validate::description("user", &user.description)?;
            if let Err(why) = password::check_stored_hash(&user.password_hash) {
                return Err(malformed(format!(
                    "the password of user [{}] {why}",
                    user.name
                )));
            }
        }
        for role in &backup.roles {
            self.validate_role_name(&role.name)?;
            validate::description("role", &role.description)?;
        }
        if !backup.groups.is_empty() && !catalog.has_groups() {
            return Err(malformed(format!(
                "it holds privilege groups, which profile {} does not have",
                profile.name
            )));
        }
        let group_names: BTreeSet<&str> = backup.groups.iter().map(|g| g.name.as_str()).collect();
        for group in &backup.groups {
            validate::privilege_group_name(&group.name)?;
            if let Some(unknown) = group
                .privileges
                .iter()
                .find(|p| !catalog.is_defined(p) && !group_names.contains(p.as_str()))
            {
                return Err(malformed(format!(
                    "privilege group [{}] holds the unknown privilege [{unknown}]",
                    group.name
                )));
            }
        }
        for grant in &backup.grants {
            if ObjectType::parse(&grant.object_type).is_none() {
                return Err(malformed(format!(
                    "a grant of role [{}] has the unknown object type [{}]",
                    grant.role_name, grant.object_type
                )));
            }
        }
        Ok(())
    }
}
