//! Privileges granted to roles: grant v1 (object type + object name), grant v2 (collection + database),
//! and `describe_role`.

use std::sync::Arc;

use super::{Call, Caller, Registry};
use crate::catalog::{Level, ObjectType};
use crate::error::{RbacError, Result, Rpc};
use crate::model::{database_or_default, Grant, RoleDescription, ANY};
use crate::ops::args;
use crate::store::WriteTx;
use crate::validate;

/// Grant or revoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Grant,
    Revoke,
}

impl Registry {
    pub(super) fn grant_privilege(
        &self,
        call: &Call<'_>,
        args: &args::GrantPrivilege,
    ) -> Result<()> {
        let args::GrantPrivilege {
            role_name,
            object_type,
            privilege,
            object_name,
            db_name,
            ..
        } = args;
        self.operate_privilege(
            call,
            Operation::Grant,
            role_name,
            object_type,
            privilege,
            object_name,
            db_name,
        )
    }

    pub(super) fn revoke_privilege(
        &self,
        call: &Call<'_>,
        args: &args::RevokePrivilege,
    ) -> Result<()> {
        let args::RevokePrivilege {
            role_name,
            object_type,
            privilege,
            object_name,
            db_name,
            ..
        } = args;
        self.operate_privilege(
            call,
            Operation::Revoke,
            role_name,
            object_type,
            privilege,
            object_name,
            db_name,
        )
    }

    pub(super) fn grant_privilege_v2(
        &self,
        call: &Call<'_>,
        args: &args::GrantPrivilegeV2,
    ) -> Result<()> {
        let args::GrantPrivilegeV2 {
            role_name,
            privilege,
            collection_name,
            db_name,
            ..
        } = args;
        self.operate_privilege_v2(
            call,
            Operation::Grant,
            role_name,
            privilege,
            collection_name,
            db_name,
        )
    }

    pub(super) fn revoke_privilege_v2(
        &self,
        call: &Call<'_>,
        args: &args::RevokePrivilegeV2,
    ) -> Result<()> {
        let args::RevokePrivilegeV2 {
            role_name,
            privilege,
            collection_name,
            db_name,
            ..
        } = args;
        self.operate_privilege_v2(
            call,
            Operation::Revoke,
            role_name,
            privilege,
            collection_name,
            db_name,
        )
    }

    /// Who grants: the connected user. With authorization disabled and no credentials there is nobody.
    fn grantor<'c>(&self, caller: &'c Caller) -> Result<&'c str> {
        caller.user().ok_or(RbacError::NoGrantor)
    }

    /// Milvus 2.6 wraps the common checks of OperatePrivilege.
    fn privilege_check_failed(&self, err: RbacError) -> RbacError {
        self.check_failed("failed to operate privilege common check", err)
    }

    /// The checks OperatePrivilege v1 and v2 share: the role and the grantor exist.
    fn check_role_and_grantor(
        &self,
        tx: &mut dyn WriteTx,
        role_name: &str,
        grantor: &str,
    ) -> Result<()> {
        if tx.role(role_name)?.is_none() {
            return Err(self.privilege_check_failed(RbacError::RoleNotFound {
                rpc: Rpc::OperatePrivilege,
            }));
        }
        if tx.user(grantor)?.is_none() {
            return Err(self.privilege_check_failed(RbacError::UserNotFound {
                rpc: Rpc::OperatePrivilege,
            }));
        }
        Ok(())
    }

    /// Apply a grant or revoke, and the same for its related privileges (Load and Flush bring their state
    /// privileges along), in one transaction.
    fn apply(&self, tx: &mut dyn WriteTx, operation: Operation, grant: Grant) -> Result<()> {
        let related = self.profile().catalog.related(&grant.privilege);
        let related = related.iter().map(|privilege| Grant {
            privilege: privilege.to_string(),
            ..grant.clone()
        });
        for grant in std::iter::once(grant.clone()).chain(related) {
            match operation {
                Operation::Grant => tx.insert_grant(&grant)?,
                Operation::Revoke => tx.delete_grant(&grant)?,
            }
        }
        Ok(())
    }

    /// Milvus's OperatePrivilege (v1): `privilege` on an object of `object_type`, in database `db_name`
    /// (`""` is `default`). Global grants are stored on object `*`.
    #[allow(clippy::too_many_arguments)]
    fn operate_privilege(
        &self,
        call: &Call<'_>,
        operation: Operation,
        role_name: &str,
        object_type: &str,
        privilege: &str,
        object_name: &str,
        db_name: &str,
    ) -> Result<()> {
        let profile = self.profile();
        let names = &profile.object_names;
        if privilege != ANY {
            validate::name(names, privilege, "Privilege")?;
        }
        validate::name(names, object_type, "ObjectType")?;
        if object_name != ANY {
            validate::name(names, object_name, profile.object_name_label)?;
        }
        self.validate_role_name(role_name)?;
        let grantor = self.grantor(call.caller)?;
        let catalog = profile.catalog;
        call.write(|tx| {
            let object_type = ObjectType::parse(object_type).ok_or_else(|| {
                self.privilege_check_failed(if profile.lists_object_types {
                    RbacError::ObjectTypeNotFound {
                        name: object_type.to_string(),
                    }
                } else {
                    RbacError::ObjectTypeInvalid
                })
            })?;
            self.check_role_and_grantor(tx, role_name, grantor)?;
            if privilege != ANY {
                let custom_group = catalog.has_groups() && tx.group_exists(privilege)?;
                if custom_group || catalog.is_builtin_group(privilege) {
                    return Err(self.privilege_check_failed(RbacError::GroupNeedsGrantV2 {
                        group: privilege.to_string(),
                        builtin: !custom_group,
                    }));
                }
                if !catalog.is_grantable_on(object_type, privilege) {
                    return Err(self.privilege_check_failed(RbacError::PrivilegeNotFound {
                        privilege: privilege.to_string(),
                        object_type: profile
                            .names_object_of_missing_privilege
                            .then_some(object_type),
                    }));
                }
            }
            // Global privileges have no object; Milvus 2.5+ keeps the name for the legacy Admin group.
            let keeps_name = catalog.has_groups() && catalog.is_legacy_group(privilege);
            let object_name = if object_type == ObjectType::Global && !keeps_name {
                ANY
            } else {
                object_name
            };
            let grant = Grant {
                role_name: role_name.to_string(),
                object_type: object_type.as_str().to_string(),
                db_name: database_or_default(db_name).to_string(),
                object_name: object_name.to_string(),
                privilege: privilege.to_string(),
                grantor: grantor.to_string(),
            };
            self.apply(tx, operation, grant)
        })
    }

    /// Milvus's OperatePrivilegeV2 (2.5+): `privilege` (a privilege or a group) on `collection_name` in
    /// `db_name`, with the scope rules of privilege levels.
    fn operate_privilege_v2(
        &self,
        call: &Call<'_>,
        operation: Operation,
        role_name: &str,
        privilege: &str,
        collection_name: &str,
        db_name: &str,
    ) -> Result<()> {
        let profile = self.profile();
        self.validate_role_name(role_name)?;
        if privilege != ANY {
            validate::name(&profile.object_names, privilege, "Privilege")?;
        }
        if !db_name.is_empty() && db_name != ANY {
            validate::database_name(db_name)?;
        }
        if collection_name != ANY {
            validate::name(&profile.object_names, collection_name, "collection name")?;
        }
        let grantor = self.grantor(call.caller)?;
        let catalog = profile.catalog;
        call.write(|tx| {
            self.check_role_and_grantor(tx, role_name, grantor)?;
            let custom_group = tx.group_exists(privilege)?;
            if privilege != ANY && !custom_group && !catalog.is_defined(privilege) {
                return Err(self.privilege_check_failed(RbacError::PrivilegeNotFound {
                    privilege: privilege.to_string(),
                    object_type: None,
                }));
            }
            let level = if custom_group {
                match tx.group_members(privilege)?.first() {
                    None => None,
                    Some(first) => Some(catalog.level_of(first).ok_or(RbacError::LevelNotFound)?),
                }
            } else {
                catalog
                    .is_builtin_group(privilege)
                    .then(|| catalog.builtin_group_level(privilege))
                    .flatten()
            };
            if let Some(level) = level {
                check_scope(level, privilege, collection_name, db_name)?;
            }
            let grant = Grant {
                role_name: role_name.to_string(),
                object_type: catalog.object_type_of(privilege).as_str().to_string(),
                db_name: database_or_default(db_name).to_string(),
                object_name: collection_name.to_string(),
                privilege: privilege.to_string(),
                grantor: grantor.to_string(),
            };
            self.apply(tx, operation, grant)
        })
    }

    /// Milvus's SelectGrant for one role: its grants in `db_name` (`""` is `default`) and in `*`, or in every
    /// database for `*`.
    pub(super) fn describe_role(
        &self,
        call: &Call<'_>,
        args: &args::DescribeRole,
    ) -> Result<Arc<RoleDescription>> {
        let role_name = args.role_name.as_str();
        self.validate_role_name(role_name)?;
        let db_name = database_or_default(&args.db_name);
        let store = self.store();
        let view = call.view();
        let Some(role) = view.role(store, role_name)? else {
            return Err(RbacError::RoleNotFound {
                rpc: Rpc::SelectGrant,
            });
        };
        if let Some(described) = role.described.get(db_name) {
            return Ok(described);
        }
        let catalog = self.profile().catalog;
        let star_lists_all = self.profile().star_database_lists_all;
        let custom_groups = view.groups(store)?;
        let mut grants: Vec<Grant> = role
            .grants
            .iter()
            .filter(|grant| {
                grant.db_name == db_name
                    || grant.db_name == ANY
                    || (db_name == ANY && star_lists_all)
            })
            .cloned()
            .collect();
        // Milvus lists its etcd keys: `<type>/<db>.<object>`, then the stored privilege name, which carries a
        // `Privilege` or `PrivilegeGroup` prefix.
        grants.sort_by_cached_key(|grant| {
            let is_group = catalog.is_builtin_group(&grant.privilege)
                || catalog.is_legacy_group(&grant.privilege)
                || custom_groups.by_name.contains_key(&grant.privilege);
            let stored = match grant.privilege.as_str() {
                ANY => ANY.to_string(),
                name if is_group => format!("PrivilegeGroup{name}"),
                name => format!("Privilege{name}"),
            };
            (
                grant.object_type.clone(),
                format!("{}.{}", grant.db_name, grant.object_name),
                stored,
            )
        });
        let described = Arc::new(RoleDescription {
            name: role_name.to_string(),
            description: role.description.clone(),
            grants,
        });
        // The role entry belongs to this snapshot (or to nothing, if it was read at a later change count).
        role.described.keep(db_name, Arc::clone(&described));
        Ok(described)
    }
}

/// The scopes each level of group may be granted at (grant v2).
fn check_scope(level: Level, group: &str, collection_name: &str, db_name: &str) -> Result<()> {
    let refusal = match level {
        Level::Cluster if db_name != ANY || collection_name != ANY => {
            "dbName and collectionName should be * for the cluster level privilege"
        }
        Level::Database if !collection_name.is_empty() && collection_name != ANY => {
            "collectionName should be * for the database level privilege"
        }
        Level::Collection if db_name == ANY && collection_name != ANY => {
            "please specify database name for the collection level privilege"
        }
        _ => return Ok(()),
    };
    Err(RbacError::invalid_in(
        Rpc::OperatePrivilege,
        format!("{refusal}: {group}: invalid parameter"),
    ))
}

#[cfg(test)]
mod tests {
    use crate::caller::Caller;
    use crate::error::Result;
    use crate::ops::Reply;
    use crate::profile::ProfileName;
    use crate::registry::testing::{message, registry, request};
    use crate::registry::Registry;

    /// A Milvus 2.5 registry with a role `r` and an empty custom group `g`, and root.
    fn role_and_group() -> (Registry, Caller) {
        let (registry, root) = registry(ProfileName::Milvus25);
        registry
            .execute(&root, &request("create_role", &[("role_name", "r")]))
            .unwrap();
        registry
            .execute(
                &root,
                &request("create_privilege_group", &[("group_name", "g")]),
            )
            .unwrap();
        (registry, root)
    }

    fn v1(
        registry: &Registry,
        root: &Caller,
        object_type: &str,
        privilege: &str,
        object: &str,
    ) -> Result<Reply> {
        let args = [
            ("role_name", "r"),
            ("object_type", object_type),
            ("privilege", privilege),
            ("object_name", object),
        ];
        registry.execute(root, &request("grant_privilege", &args))
    }

    fn v2(
        registry: &Registry,
        root: &Caller,
        privilege: &str,
        collection: &str,
        db: &str,
    ) -> Result<Reply> {
        let args = [
            ("role_name", "r"),
            ("privilege", privilege),
            ("collection_name", collection),
            ("db_name", db),
        ];
        registry.execute(root, &request("grant_privilege_v2", &args))
    }

    /// `r`'s grants in every database, as (object type, object, database, privilege).
    fn grants(registry: &Registry, root: &Caller) -> Vec<(String, String, String, String)> {
        let describe = request("describe_role", &[("role_name", "r"), ("db_name", "*")]);
        match registry.execute(root, &describe) {
            Ok(Reply::Role(role)) => role
                .grants
                .iter()
                .map(|g| {
                    (
                        g.object_type.clone(),
                        g.object_name.clone(),
                        g.db_name.clone(),
                        g.privilege.clone(),
                    )
                })
                .collect(),
            other => panic!("describe_role answered {other:?}"),
        }
    }

    fn grant(
        object_type: &str,
        object: &str,
        db: &str,
        privilege: &str,
    ) -> (String, String, String, String) {
        (
            object_type.into(),
            object.into(),
            db.into(),
            privilege.into(),
        )
    }

    #[test]
    fn the_object_type_calls_refuse_groups_and_store_global_grants_on_star() {
        let (registry, root) = role_and_group();
        assert_eq!(
            message(v1(&registry, &root, "Collection", "g", "books")).1,
            "can not operate the custom privilege group [g]"
        );
        assert_eq!(
            message(v1(
                &registry,
                &root,
                "Collection",
                "CollectionReadOnly",
                "books"
            ))
            .1,
            "can not operate the built-in privilege group [CollectionReadOnly]"
        );
        // Load brings the privileges of its state along.
        v1(&registry, &root, "Collection", "Load", "books").unwrap();
        // A global privilege is stored on `*`, whatever object was named; the legacy Admin group keeps it.
        v1(&registry, &root, "Global", "CreateCollection", "books").unwrap();
        v1(&registry, &root, "Global", "Admin", "books").unwrap();
        assert_eq!(
            grants(&registry, &root),
            [
                grant("Collection", "books", "default", "GetLoadState"),
                grant("Collection", "books", "default", "GetLoadingProgress"),
                grant("Collection", "books", "default", "Load"),
                grant("Global", "*", "default", "CreateCollection"),
                grant("Global", "books", "default", "Admin"),
            ]
        );
    }

    #[test]
    fn the_v2_calls_check_each_name_and_take_privileges_groups_and_star() {
        let (registry, root) = role_and_group();
        assert_eq!(
            message(v2(&registry, &root, "Se arch", "books", "")),
            (
                1100,
                "Privilege can only contain numbers, letters, dollars and underscores, found   at 2: invalid \
                 parameter"
                    .to_string()
            )
        );
        assert_eq!(
            message(v2(&registry, &root, "Search", "bad name", "")).0,
            1100
        );
        assert_eq!(
            message(v2(&registry, &root, "Search", "books", "bad-db")),
            (
                802,
                "database name can only contain numbers, letters and underscores: invalid database \
                 name[database=bad-db]"
                    .to_string()
            )
        );
        assert_eq!(
            message(v2(&registry, &root, "Nothing", "books", "")).1,
            "not found the privilege name[Nothing]"
        );
        v2(&registry, &root, "Search", "books", "").unwrap();
        v2(&registry, &root, "Query", "*", "*").unwrap();
        v2(&registry, &root, "*", "books", "db1").unwrap();
        v2(&registry, &root, "g", "books", "db1").unwrap();
        assert_eq!(
            grants(&registry, &root),
            [
                grant("Collection", "*", "*", "Query"),
                grant("Collection", "books", "default", "Search"),
                grant("Global", "books", "db1", "*"),
                grant("Global", "books", "db1", "g"),
            ]
        );
    }

    /// Milvus lists a role's grants in its etcd keys' order: object type, `<db>.<object>`, then the stored
    /// privilege name, where groups (built-in, legacy and custom) carry the prefix `PrivilegeGroup`.
    #[test]
    fn grants_are_described_in_milvuss_key_order() {
        let (registry, root) = role_and_group();
        registry
            .execute(
                &root,
                &request("create_privilege_group", &[("group_name", "AAA")]),
            )
            .unwrap();
        v1(&registry, &root, "Collection", "Insert", "books").unwrap();
        v1(&registry, &root, "Collection", "CreateIndex", "books").unwrap();
        v2(&registry, &root, "CollectionReadOnly", "*", "default").unwrap();
        v1(&registry, &root, "Global", "Admin", "*").unwrap();
        v1(&registry, &root, "Global", "CreateCollection", "*").unwrap();
        v2(&registry, &root, "AAA", "*", "default").unwrap();
        assert_eq!(
            grants(&registry, &root),
            [
                grant("Collection", "books", "default", "CreateIndex"),
                grant("Collection", "books", "default", "Insert"),
                grant("Global", "*", "default", "CreateCollection"),
                grant("Global", "*", "default", "AAA"),
                grant("Global", "*", "default", "Admin"),
                grant("Global", "*", "default", "CollectionReadOnly"),
            ]
        );
    }

    /// Each level of privilege group is granted at its own scope (grant v2), whatever else is named.
    #[test]
    fn each_level_of_group_has_its_scope() {
        use super::check_scope;
        use crate::catalog::Level;

        let refusal = |level, collection, db| match check_scope(level, "G", collection, db) {
            Ok(()) => None,
            Err(err) => Some((err.code(), err.to_string())),
        };
        let cluster = "dbName and collectionName should be * for the cluster level privilege: G: invalid parameter";
        assert_eq!(refusal(Level::Cluster, "*", "*"), None);
        for (collection, db) in [("*", "db1"), ("books", "*"), ("books", "db1")] {
            assert_eq!(
                refusal(Level::Cluster, collection, db),
                Some((1100, cluster.into()))
            );
        }
        let database =
            "collectionName should be * for the database level privilege: G: invalid parameter";
        for (collection, db) in [("*", "db1"), ("", "db1"), ("*", "*")] {
            assert_eq!(
                refusal(Level::Database, collection, db),
                None,
                "{collection} {db}"
            );
        }
        assert_eq!(
            refusal(Level::Database, "books", "db1"),
            Some((1100, database.into()))
        );
        let collection_level =
            "please specify database name for the collection level privilege: G: invalid parameter";
        for (collection, db) in [("books", "db1"), ("*", "*"), ("books", "")] {
            assert_eq!(
                refusal(Level::Collection, collection, db),
                None,
                "{collection} {db}"
            );
        }
        assert_eq!(
            refusal(Level::Collection, "books", "*"),
            Some((1100, collection_level.into()))
        );
    }
}
