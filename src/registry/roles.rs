//! Roles and memberships: create, alter, drop, list, grant to and revoke from users.

use std::sync::Arc;

use super::snapshot::List;
use super::{Call, Registry};
use crate::error::{RbacError, Result, Rpc};
use crate::model::{is_builtin_role, Names, ANY, DEFAULT_DATABASE};
use crate::ops::args;
use crate::store::WriteTx;
use crate::validate;

const ROLE_NAME: &str = "role name";

impl Registry {
    pub(super) fn validate_role_name(&self, role_name: &str) -> Result<()> {
        validate::name(&self.profile().role_name, role_name, ROLE_NAME)
    }

    /// Milvus's CreateRole: the duplicate check comes before the limit check.
    pub(super) fn create_role(&self, call: &Call<'_>, args: &args::CreateRole) -> Result<()> {
        let role_name = args.role_name.as_str();
        self.validate_role_name(role_name)?;
        let description = self.description_to_keep("role", args.description.as_deref())?;
        call.write(|tx| {
            if tx.role(role_name)?.is_some() {
                return Err(RbacError::RoleExists {
                    role: role_name.to_string(),
                });
            }
            if matches!(self.settings().max_roles, Some(max) if tx.role_count()? >= max) {
                return Err(
                    self.check_failed("failed to check if create role", RbacError::RoleLimit)
                );
            }
            tx.insert_role(role_name, description.unwrap_or_default())
        })
    }

    /// Milvus 2.6.19's AlterRole: sets a role's description.
    pub(super) fn alter_role(&self, call: &Call<'_>, args: &args::AlterRole) -> Result<()> {
        let role_name = args.role_name.as_str();
        self.validate_role_name(role_name)?;
        validate::description("role", &args.description)?;
        if is_builtin_role(role_name) {
            return Err(RbacError::NotPermitted {
                what: format!("the role[{role_name}] is a default role, which can't be altered"),
            });
        }
        call.write(|tx| {
            if tx.set_role_description(role_name, &args.description)? {
                Ok(())
            } else if self.profile().prefix_check_failures {
                Err(self.check_failed("failed to check if alter role", RbacError::RoleNotExists))
            } else {
                Err(RbacError::RoleNotFound {
                    rpc: Rpc::AlterRole,
                })
            }
        })
    }

    /// Milvus's DropRole: admin and public cannot be dropped; a role with grants only with `force_drop`
    /// (Milvus 2.5+; 2.4 ignores the flag); users holding the role lose it.
    pub(super) fn drop_role(&self, call: &Call<'_>, args: &args::DropRole) -> Result<()> {
        let role_name = args.role_name.as_str();
        self.validate_role_name(role_name)?;
        if is_builtin_role(role_name) {
            return Err(RbacError::NotPermitted {
                what: format!("the role[{role_name}] is a default role, which can't be dropped"),
            });
        }
        let profile = self.profile();
        call.write(|tx| {
            if tx.role(role_name)?.is_none() {
                return Err(RbacError::RoleNotFound { rpc: Rpc::DropRole });
            }
            // Milvus 2.4 looks only where a plain describe_role looks: `default` and `*`.
            let has_grants = tx.grants_of_role(role_name)?.iter().any(|grant| {
                profile.drop_role_sees_all_databases
                    || grant.db_name == DEFAULT_DATABASE
                    || grant.db_name == ANY
            });
            if has_grants && !(args.force_drop && profile.force_drop) {
                return Err(
                    self.check_failed("failed to check if drop role", RbacError::RoleHasGrants)
                );
            }
            tx.delete_role(role_name).map(drop)
        })
    }

    /// Every role, admin and public included, in byte order.
    pub(super) fn list_roles(
        &self,
        call: &Call<'_>,
        _args: &args::ListRoles,
    ) -> Result<Arc<Names>> {
        call.view().names(List::Roles, self.store())
    }

    /// Milvus's OperateUserRole (add): the role is checked before the user; granting twice is a success.
    pub(super) fn grant_role(&self, call: &Call<'_>, args: &args::GrantRole) -> Result<()> {
        let (user_name, role_name) = (args.user_name.as_str(), args.role_name.as_str());
        self.check_membership_names(user_name, role_name)?;
        call.write(|tx| {
            check_role_exists(tx, role_name)?;
            if tx.user(user_name)?.is_none() {
                return Err(self.check_failed(
                    "failed to check if operate user role",
                    RbacError::UserNotFound {
                        rpc: Rpc::OperateUserRole,
                    },
                ));
            }
            tx.add_user_role(user_name, role_name)
        })
    }

    /// Milvus's OperateUserRole (remove): the role must exist; a missing user or membership is a success.
    pub(super) fn revoke_role(&self, call: &Call<'_>, args: &args::RevokeRole) -> Result<()> {
        let (user_name, role_name) = (args.user_name.as_str(), args.role_name.as_str());
        self.check_membership_names(user_name, role_name)?;
        call.write(|tx| {
            check_role_exists(tx, role_name)?;
            tx.remove_user_role(user_name, role_name)
        })
    }

    /// OperateUserRole validates the user name, then the role name.
    fn check_membership_names(&self, user_name: &str, role_name: &str) -> Result<()> {
        validate::username(&self.profile().username, user_name)?;
        self.validate_role_name(role_name)
    }
}

fn check_role_exists(tx: &mut dyn WriteTx, role_name: &str) -> Result<()> {
    if tx.role(role_name)?.is_none() {
        return Err(RbacError::RoleNotFound {
            rpc: Rpc::OperateUserRole,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::ops::Reply;
    use crate::profile::ProfileName;
    use crate::registry::testing::{message, registry, request};

    /// AlterRole (2.6.19+) sets an existing role's description, which describe_role then shows; a missing
    /// role is refused in the line's words.
    #[test]
    fn alter_role_describes_an_existing_role_and_refuses_a_missing_one() {
        for (profile, missing) in [
            (
                ProfileName::Milvus26,
                "failed to check if alter role: role not exists",
            ),
            (
                ProfileName::Docs,
                "not found the role, maybe the role isn't existed or internal system error",
            ),
        ] {
            let (registry, root) = registry(profile);
            let run =
                |name: &str, args: &[(&str, &str)]| registry.execute(&root, &request(name, args));
            run("create_role", &[("role_name", "r")]).unwrap();
            run(
                "alter_role",
                &[("role_name", "r"), ("description", "reads books")],
            )
            .unwrap();
            match run("describe_role", &[("role_name", "r")]) {
                Ok(Reply::Role(role)) => assert_eq!(role.description, "reads books", "{profile}"),
                other => panic!("describe_role answered {other:?}"),
            }
            let refused = run(
                "alter_role",
                &[("role_name", "ghost"), ("description", "x")],
            );
            assert_eq!(message(refused).1, missing, "{profile}");
        }
    }
}
