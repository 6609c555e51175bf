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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caller::Caller;
    use crate::model::{Grant, Group};
    use crate::ops::{Reply, Request, Value};
    use crate::profile::ProfileName;
    use crate::registry::testing::{message, registry, request};

    /// Run a call on `registry` as `root`, its arguments given as texts.
    fn run(registry: &Registry, root: &Caller, name: &str, args: &[(&str, &str)]) -> Result<Reply> {
        registry.execute(root, &request(name, args))
    }

    fn backup_of(registry: &Registry, root: &Caller) -> RbacBackup {
        match run(registry, root, "backup_rbac", &[]) {
            Ok(Reply::Backup(backup, _)) => *backup,
            other => panic!("backup_rbac answered {other:?}"),
        }
    }

    fn restore(registry: &Registry, root: &Caller, backup: &RbacBackup) -> Result<Reply> {
        let meta = Value::Backup(Box::new(backup.clone()));
        registry.execute(
            root,
            &Request::build("restore_rbac", [("meta", meta)]).unwrap(),
        )
    }

    fn grant(role: &str, privilege: &str) -> Grant {
        Grant {
            role_name: role.into(),
            object_type: "Collection".into(),
            db_name: "default".into(),
            object_name: "books".into(),
            privilege: privilege.into(),
            grantor: ROOT_USER.into(),
        }
    }

    /// A registry holding a user `u` (role `r`, also `public`), a role `r` with a grant, a group `g`, and
    /// grants and members of the built-in roles, which the backup leaves out.
    fn populated() -> (Registry, Caller) {
        let (registry, root) = registry(ProfileName::Milvus25);
        let call = |name: &str, args: &[(&str, &str)]| run(&registry, &root, name, args).unwrap();
        call(
            "create_user",
            &[("user_name", "u"), ("password", "P@ssw0rd1")],
        );
        call("create_role", &[("role_name", "r")]);
        call("grant_role", &[("user_name", "u"), ("role_name", "r")]);
        call("grant_role", &[("user_name", "u"), ("role_name", "admin")]);
        // A group of privileges, and one holding it by name.
        for (group, member) in [("g", "Query"), ("outer", "g")] {
            call("create_privilege_group", &[("group_name", group)]);
            let add = [("group_name", group), ("privileges", member)];
            call("add_privileges_to_group", &add);
        }
        for role in ["r", "public"] {
            let args = [
                ("role_name", role),
                ("object_type", "Collection"),
                ("privilege", "Insert"),
                ("object_name", "books"),
            ];
            call("grant_privilege", &args);
        }
        (registry, root)
    }

    #[test]
    fn a_backup_leaves_out_root_admin_public_and_their_grants() {
        let (source, source_root) = populated();
        let backup = backup_of(&source, &source_root);
        let users: Vec<_> = backup
            .users
            .iter()
            .map(|u| (u.name.as_str(), u.roles.clone()))
            .collect();
        assert_eq!(users, [("u", vec!["admin".to_string(), "r".to_string()])]);
        let roles: Vec<_> = backup.roles.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(roles, ["r"]);
        assert_eq!(backup.grants, [grant("r", "Insert")]);
        let groups = |name: &str, member: &str| Group {
            name: name.into(),
            privileges: vec![member.into()],
        };
        assert_eq!(backup.groups, [groups("g", "Query"), groups("outer", "g")]);
        // Restored elsewhere, it gives the same backup.
        let (other, other_root) = registry(ProfileName::Milvus25);
        restore(&other, &other_root, &backup).unwrap();
        assert_eq!(backup_of(&other, &other_root), backup);
    }

    #[test]
    fn a_restore_refuses_what_exists_or_is_missing_and_changes_nothing() {
        let (source, source_root) = populated();
        let backup = backup_of(&source, &source_root);
        let refused = |edit: &dyn Fn(&mut RbacBackup, &Registry, &Caller)| {
            let (target, root) = registry(ProfileName::Milvus25);
            let mut changed = backup.clone();
            edit(&mut changed, &target, &root);
            let before = backup_of(&target, &root);
            let answer = message(restore(&target, &root, &changed));
            assert_eq!(
                backup_of(&target, &root),
                before,
                "all or nothing: {answer:?}"
            );
            answer.1
        };
        let create = |registry: &Registry, root: &Caller, name: &str, args: &[(&str, &str)]| {
            run(registry, root, name, args).unwrap();
        };
        assert_eq!(
            refused(&|_, target, root| create(target, root, "create_role", &[("role_name", "r")])),
            "role [r] already exists"
        );
        assert_eq!(
            refused(&|_, target, root| create(
                target,
                root,
                "create_privilege_group",
                &[("group_name", "g")]
            )),
            "privilege group [g] already exists"
        );
        // A group named as a built-in one exists already in every registry.
        assert_eq!(
            refused(&|b, _, _| b.groups[1].name = "ClusterReadOnly".into()),
            "privilege group [ClusterReadOnly] already exists"
        );
        assert_eq!(
            refused(&|b, _, _| b.grants.push(grant("r", "NoSuchPrivilege"))),
            "privilege group [NoSuchPrivilege] does not exist"
        );
        assert_eq!(
            refused(&|b, _, _| b.grants.push(grant("ghost", "Insert"))),
            "role [ghost] does not exist"
        );
        assert_eq!(
            refused(&|_, target, root| create(
                target,
                root,
                "create_user",
                &[("user_name", "u"), ("password", "P@ssw0rd1")]
            )),
            "user [u] already exists"
        );
        assert_eq!(
            refused(&|b, _, _| b.users[0].roles.push("ghost".into())),
            "role [ghost] does not exist"
        );
    }

    #[test]
    fn a_restore_takes_what_the_registry_or_the_backup_defines() {
        let (source, source_root) = populated();
        let mut backup = backup_of(&source, &source_root);
        // A grant of every privilege, of a group the backup brings, and of one the registry has already.
        backup.grants.push(grant("r", ANY));
        backup.grants.push(grant("r", "g"));
        backup.grants.push(grant("r", "existing"));
        // A user holding a role the registry has already.
        backup.users[0].roles.push("kept".into());
        let (target, root) = registry(ProfileName::Milvus25);
        run(
            &target,
            &root,
            "create_privilege_group",
            &[("group_name", "existing")],
        )
        .unwrap();
        run(&target, &root, "create_role", &[("role_name", "kept")]).unwrap();
        restore(&target, &root, &backup).unwrap();
        let restored = backup_of(&target, &root);
        assert_eq!(restored.grants.len(), 4);
        assert_eq!(restored.users[0].roles, ["admin", "kept", "r"]);
    }

    #[test]
    fn a_backup_no_registry_could_write_is_refused_before_anything_is_read() {
        let (source, source_root) = populated();
        let backup = backup_of(&source, &source_root);
        let refused = |profile: ProfileName, edit: &dyn Fn(&mut RbacBackup)| {
            let (target, root) = registry(profile);
            let mut changed = backup.clone();
            edit(&mut changed);
            message(restore(&target, &root, &changed)).1
        };
        assert_eq!(
            refused(ProfileName::Milvus25, &|b| b.users.push(b.users[0].clone())),
            "invalid RBAC backup: user [u] appears twice"
        );
        assert_eq!(
            refused(ProfileName::Milvus25, &|b| b.roles.push(b.roles[0].clone())),
            "invalid RBAC backup: role [r] appears twice"
        );
        assert_eq!(
            refused(ProfileName::Milvus25, &|b| b
                .groups
                .push(b.groups[0].clone())),
            "invalid RBAC backup: privilege group [g] appears twice"
        );
        assert!(
            refused(ProfileName::Milvus25, &|b| b.users[0].password_hash =
                "plain".into())
            .starts_with("invalid RBAC backup: the password of user [u] ")
        );
        assert_eq!(
            refused(ProfileName::Milvus25, &|b| b.grants[0].object_type =
                "Table".into()),
            "invalid RBAC backup: a grant of role [r] has the unknown object type [Table]"
        );
        assert_eq!(
            refused(ProfileName::Milvus25, &|b| b.groups[0]
                .privileges
                .push("Nothing".into())),
            "invalid RBAC backup: privilege group [g] holds the unknown privilege [Nothing]"
        );
        assert_eq!(
            refused(ProfileName::Milvus24, &|b| b.users.clear()),
            "invalid RBAC backup: it holds privilege groups, which profile milvus-2.4 does not have"
        );
        // Without groups, a 2.4 registry takes it.
        let (target, root) = registry(ProfileName::Milvus24);
        let mut plain = backup.clone();
        plain.groups.clear();
        restore(&target, &root, &plain).unwrap();
    }
}
