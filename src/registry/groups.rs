//! Custom privilege groups (Milvus 2.5+): create, drop, list, add and remove privileges.

use std::sync::Arc;

use super::{Call, Registry};
use crate::error::{RbacError, Result, Rpc};
use crate::model::Group;
use crate::ops::args;
use crate::store::WriteTx;
use crate::validate;

/// Add or remove privileges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GroupChange {
    Add,
    Remove,
}

impl Registry {
    /// Milvus's CreatePrivilegeGroup: a new, empty group whose name is no privilege or group yet.
    pub(super) fn create_privilege_group(
        &self,
        call: &Call<'_>,
        args: &args::CreatePrivilegeGroup,
    ) -> Result<()> {
        let group_name = args.group_name.as_str();
        validate::privilege_group_name(group_name)?;
        let catalog = self.profile().catalog;
        let refuse = |reason: String| {
            self.check_failed(
                "failed to check if privilege group creatable",
                RbacError::invalid_in(Rpc::CreatePrivilegeGroup, reason),
            )
        };
        call.write(|tx| {
            if catalog.is_defined(group_name) {
                return Err(refuse(format!(
                    "privilege group name [{group_name}] is defined by built in privileges or privilege groups in system: invalid parameter"
                )));
            }
            if tx.group_exists(group_name)? {
                return Err(refuse(format!(
                    "privilege group name [{group_name}] is defined by users: invalid parameter"
                )));
            }
            tx.insert_group(group_name)
        })
    }

    /// Milvus's DropPrivilegeGroup: refused while a role holds the group; a no-op for any other name.
    pub(super) fn drop_privilege_group(
        &self,
        call: &Call<'_>,
        args: &args::DropPrivilegeGroup,
    ) -> Result<()> {
        let group_name = args.group_name.as_str();
        validate::privilege_group_name(group_name)?;
        call.write(|tx| {
            if !tx.group_exists(group_name)? {
                return Ok(());
            }
            if let Some(role) = tx.role_holding(group_name)? {
                return Err(self.check_failed(
                    "failed to check if privilege group dropable",
                    RbacError::GroupInUse {
                        group: group_name.to_string(),
                        role,
                    },
                ));
            }
            tx.delete_group(group_name)
        })
    }

    /// Custom groups by name, then the nine built-in groups in Milvus's order.
    pub(super) fn list_privilege_groups(
        &self,
        call: &Call<'_>,
        _args: &args::ListPrivilegeGroups,
    ) -> Result<Arc<Vec<Group>>> {
        let view = call.view();
        if let Some(groups) = view.group_list.get() {
            return Ok(Arc::clone(groups));
        }
        let mut groups = view.groups(self.store())?.list.clone();
        groups.extend(self.profile().catalog.builtin_groups());
        Ok(Arc::clone(view.group_list.get_or_init(|| Arc::new(groups))))
    }

    pub(super) fn add_privileges_to_group(
        &self,
        call: &Call<'_>,
        args: &args::AddPrivilegesToGroup,
    ) -> Result<()> {
        self.change_privilege_group(call, GroupChange::Add, &args.group_name, &args.privileges)
    }

    pub(super) fn remove_privileges_from_group(
        &self,
        call: &Call<'_>,
        args: &args::RemovePrivilegesFromGroup,
    ) -> Result<()> {
        self.change_privilege_group(
            call,
            GroupChange::Remove,
            &args.group_name,
            &args.privileges,
        )
    }

    /// Milvus's OperatePrivilegeGroup: add or remove privileges (or group names, kept as names). Added
    /// privileges must share one level with the group's.
    fn change_privilege_group(
        &self,
        call: &Call<'_>,
        change: GroupChange,
        group_name: &str,
        privileges: &[String],
    ) -> Result<()> {
        validate::privilege_group_name(group_name)?;
        let profile = self.profile();
        for privilege in privileges {
            validate::name(&profile.object_names, privilege, "Privilege")?;
        }
        let catalog = profile.catalog;
        // 2.6 reports every refusal as a parameter error behind one prefix; 2.5 words some differently.
        let prefixed = profile.prefix_check_failures;
        let refuse = |reason: String| {
            self.check_failed(
                "failed to check if privilege group alterable",
                RbacError::invalid_in(Rpc::OperatePrivilegeGroup, reason),
            )
        };
        call.write(|tx| {
            if !tx.group_exists(group_name)? {
                return Err(refuse(if prefixed || !catalog.is_builtin_group(group_name) {
                    let defined = if prefixed { " defined in system" } else { "" };
                    format!("there is no privilege group name [{group_name}]{defined} to operate: invalid parameter")
                } else {
                    format!(
                        "the privilege group name [{group_name}] is defined by built in privilege groups in system: invalid parameter"
                    )
                }));
            }
            if privileges.is_empty() {
                return if prefixed {
                    Err(refuse(
                        "privileges is empty when alter the privilege group: invalid parameter".into(),
                    ))
                } else {
                    Ok(())
                };
            }
            if let Some(unknown) = self.first_unknown(tx, privileges)? {
                return Err(refuse(format!(
                    "there is no privilege name or privilege group name [{unknown}] defined in system to operate: invalid parameter"
                )));
            }
            let members = privileges;
            match change {
                GroupChange::Add => {
                    let current = tx.group_members(group_name)?;
                    let mut levels = current
                        .iter()
                        .chain(members.iter())
                        .map(|privilege| catalog.level_of(privilege));
                    let first = levels.next().flatten();
                    if levels.any(|level| level != first) {
                        return Err(if prefixed {
                            refuse("privileges are not the same privilege level: invalid parameter".into())
                        } else {
                            RbacError::MixedLevels
                        });
                    }
                    for member in members {
                        tx.add_group_member(group_name, member)?;
                    }
                }
                GroupChange::Remove => {
                    for member in members {
                        tx.remove_group_member(group_name, member)?;
                    }
                }
            }
            Ok(())
        })
    }

    /// The first of `names` that is neither a privilege, a built-in group nor a custom group. Group names are
    /// stored as they are, as Milvus stores them.
    fn first_unknown<'n>(
        &self,
        tx: &mut dyn WriteTx,
        names: &'n [String],
    ) -> Result<Option<&'n String>> {
        let catalog = self.profile().catalog;
        for name in names {
            if !catalog.is_defined(name) && !tx.group_exists(name)? {
                return Ok(Some(name));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use crate::ops::Reply;
    use crate::profile::ProfileName;
    use crate::registry::testing::{message, registry, request};

    /// Dropping a group: refused while a role holds it, done otherwise, and a no-op for a name that is none.
    #[test]
    fn a_group_is_dropped_unless_a_role_holds_it() {
        let (registry, root) = registry(ProfileName::Milvus25);
        let run = |name: &str, args: &[(&str, &str)]| registry.execute(&root, &request(name, args));
        let listed = || match run("list_privilege_groups", &[]) {
            Ok(Reply::Groups(groups)) => groups.iter().map(|g| g.name.clone()).collect::<Vec<_>>(),
            other => panic!("list_privilege_groups answered {other:?}"),
        };
        let builtin = [
            "ClusterReadOnly",
            "ClusterReadWrite",
            "ClusterAdmin",
            "DatabaseReadOnly",
            "DatabaseReadWrite",
            "DatabaseAdmin",
            "CollectionReadOnly",
            "CollectionReadWrite",
            "CollectionAdmin",
        ];
        assert_eq!(listed(), builtin);
        for group in ["held", "free"] {
            run("create_privilege_group", &[("group_name", group)]).unwrap();
        }
        assert_eq!(listed()[..3], ["free", "held", "ClusterReadOnly"]);
        run("create_role", &[("role_name", "r")]).unwrap();
        let grant = [
            ("role_name", "r"),
            ("privilege", "held"),
            ("collection_name", "*"),
            ("db_name", "default"),
        ];
        run("grant_privilege_v2", &grant).unwrap();
        assert_eq!(
            message(run("drop_privilege_group", &[("group_name", "held")])).1,
            "privilege group [held] is used by role [r], Use REVOKE API to revoke it first"
        );
        run("drop_privilege_group", &[("group_name", "free")]).unwrap();
        run("drop_privilege_group", &[("group_name", "never")]).unwrap();
        assert_eq!(listed()[..2], ["held", "ClusterReadOnly"]);
    }

    /// Adding to a group, as Milvus 2.5 and 2.6 word each refusal: no such group, a built-in one, nothing to
    /// add, an unknown name, or levels that differ; privileges of one level and group names are taken.
    #[test]
    fn privileges_are_added_to_a_group_by_milvuss_rules() {
        use crate::ops::{Request, Value};

        for (profile, prefix) in [
            (ProfileName::Milvus25, ""),
            (
                ProfileName::Milvus26,
                "failed to check if privilege group alterable: ",
            ),
        ] {
            let (registry, root) = registry(profile);
            let add = |group: &str, privileges: &[&str]| {
                let privileges = Value::Texts(privileges.iter().map(|p| p.to_string()).collect());
                let request = Request::build(
                    "add_privileges_to_group",
                    [
                        ("group_name", Value::Text(group.into())),
                        ("privileges", privileges),
                    ],
                )
                .unwrap();
                registry.execute(&root, &request).map(|_| ())
            };
            for group in ["g", "names", "builtins"] {
                registry
                    .execute(
                        &root,
                        &request("create_privilege_group", &[("group_name", group)]),
                    )
                    .unwrap();
            }
            let refused = |group: &str, privileges: &[&str]| message(add(group, privileges));
            let no_group = if prefix.is_empty() {
                "there is no privilege group name [x] to operate: invalid parameter".to_string()
            } else {
                format!("{prefix}there is no privilege group name [x] defined in system to operate: invalid parameter")
            };
            assert_eq!(refused("x", &["Query"]), (1100, no_group), "{profile}");
            let builtin = refused("ClusterReadOnly", &["Query"]).1;
            if prefix.is_empty() {
                assert_eq!(
                    builtin,
                    "the privilege group name [ClusterReadOnly] is defined by built in privilege groups in \
                     system: invalid parameter"
                );
            } else {
                assert!(
                    builtin.contains("there is no privilege group name [ClusterReadOnly]"),
                    "{builtin}"
                );
            }
            // Nothing to add: a no-op for 2.5, a parameter error for 2.6.
            assert_eq!(
                add("g", &[]).map_err(|err| err.to_string()),
                if prefix.is_empty() {
                    Ok(())
                } else {
                    Err(format!("{prefix}privileges is empty when alter the privilege group: invalid parameter"))
                }
            );
            assert_eq!(
                refused("g", &["Nothing"]).1,
                format!(
                    "{prefix}there is no privilege name or privilege group name [Nothing] defined in system to \
                     operate: invalid parameter"
                )
            );
            add("g", &["Query", "Search"]).unwrap();
            let mixed = if prefix.is_empty() {
                (
                    65535,
                    "privileges are not the same privilege level".to_string(),
                )
            } else {
                (
                    1100,
                    format!(
                        "{prefix}privileges are not the same privilege level: invalid parameter"
                    ),
                )
            };
            assert_eq!(refused("g", &["CreateCollection"]), mixed, "{profile}");
            // Group names are members too, kept as names.
            add("names", &["g"]).unwrap();
            add("builtins", &["CollectionReadOnly"]).unwrap();
            match registry.execute(&root, &request("list_privilege_groups", &[])) {
                Ok(Reply::Groups(groups)) => {
                    let members: Vec<_> = groups[..3]
                        .iter()
                        .map(|g| (g.name.as_str(), g.privileges.clone()))
                        .collect();
                    assert_eq!(
                        members,
                        [
                            ("builtins", vec!["CollectionReadOnly".to_string()]),
                            ("g", vec!["Query".to_string(), "Search".to_string()]),
                            ("names", vec!["g".to_string()]),
                        ]
                    );
                }
                other => panic!("list_privilege_groups answered {other:?}"),
            }
        }
    }

    /// Removing from a group takes out the named privileges (those it does not hold are ignored) and keeps the
    /// rest; a role holding the group then holds only what is left.
    #[test]
    fn privileges_removed_from_a_group_are_gone() {
        use crate::ops::{Request, Value};

        let (registry, root) = registry(ProfileName::Milvus25);
        let change = |operation: &str, privileges: &[&str]| {
            let privileges = Value::Texts(privileges.iter().map(|p| p.to_string()).collect());
            let request = Request::build(
                operation,
                [
                    ("group_name", Value::Text("g".into())),
                    ("privileges", privileges),
                ],
            )
            .unwrap();
            registry.execute(&root, &request).unwrap();
        };
        let members = || match registry.execute(&root, &request("list_privilege_groups", &[])) {
            Ok(Reply::Groups(groups)) => groups[0].privileges.clone(),
            other => panic!("list_privilege_groups answered {other:?}"),
        };
        let run = |name: &str, args: &[(&str, &str)]| registry.execute(&root, &request(name, args));
        run("create_privilege_group", &[("group_name", "g")]).unwrap();
        change("add_privileges_to_group", &["Query", "Search", "Insert"]);
        change("remove_privileges_from_group", &["Search", "Delete"]);
        assert_eq!(members(), ["Insert", "Query"]);
        change("remove_privileges_from_group", &["Insert", "Query"]);
        assert!(members().is_empty());
    }
}
