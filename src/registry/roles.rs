//! Roles and memberships: create, alter, drop, list, grant to and revoke from users.

use std::sync::Arc;

use super::{Caller, Registry, ADMIN_ROLE, ANY, DEFAULT_DATABASE, PUBLIC_ROLE};
use crate::error::{RbacError, Result, Rpc};
use crate::store::Names;
use crate::validate;

const ROLE_NAME: &str = "role name";

fn is_default_role(role_name: &str) -> bool {
    role_name == ADMIN_ROLE || role_name == PUBLIC_ROLE
}

impl Registry {
    pub(super) fn validate_role_name(&self, role_name: &str) -> Result<()> {
        validate::name(&self.profile().role_name, role_name, ROLE_NAME)
    }

    /// Milvus's CreateRole: the duplicate check comes before the limit check.
    pub fn create_role(
        &self,
        caller: &Caller,
        role_name: &str,
        description: Option<&str>,
    ) -> Result<()> {
        self.authorize_global(caller, "CreateOwnership")?;
        self.validate_role_name(role_name)?;
        let description = self.description_to_keep("role", description)?;
        self.write(|tx| {
            if tx.role_exists(role_name)? {
                return Err(RbacError::RoleExists {
                    role: role_name.to_string(),
                });
            }
            if matches!(self.settings.max_roles, Some(max) if tx.role_count()? >= max) {
                return Err(
                    self.check_failed("failed to check if create role", RbacError::RoleLimit)
                );
            }
            tx.insert_role(role_name, description.unwrap_or_default())
        })
    }

    /// Milvus 2.6.19's AlterRole: sets a role's description.
    pub fn alter_role(&self, caller: &Caller, role_name: &str, description: &str) -> Result<()> {
        let profile = self.profile();
        // An older server has no such method: it answers before any privilege check.
        if !profile.descriptions {
            return Err(RbacError::Unsupported {
                message: format!(
                    "alter_role is not available in profile {}: Milvus added AlterRole in 2.6.19 (older servers \
                     answer: unknown method AlterRole for service milvus.proto.milvus.MilvusService)",
                    profile.name
                ),
            });
        }
        self.authorize_global(caller, "CreateOwnership")?;
        self.validate_role_name(role_name)?;
        validate::description("role", description)?;
        if is_default_role(role_name) {
            return Err(RbacError::NotPermitted {
                what: format!("the role[{role_name}] is a default role, which can't be altered"),
            });
        }
        self.write(|tx| {
            if tx.set_role_description(role_name, description)? {
                Ok(())
            } else if profile.prefix_check_failures {
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
    pub fn drop_role(&self, caller: &Caller, role_name: &str, force_drop: bool) -> Result<()> {
        self.authorize_global(caller, "DropOwnership")?;
        self.validate_role_name(role_name)?;
        if is_default_role(role_name) {
            return Err(RbacError::NotPermitted {
                what: format!("the role[{role_name}] is a default role, which can't be dropped"),
            });
        }
        let profile = self.profile();
        self.write(|tx| {
            if !tx.role_exists(role_name)? {
                return Err(RbacError::RoleNotFound { rpc: Rpc::DropRole });
            }
            // Milvus 2.4 looks only where a plain describe_role looks: `default` and `*`.
            let has_grants = tx.grants_of_role(role_name)?.iter().any(|grant| {
                profile.drop_role_sees_all_databases
                    || grant.db_name == DEFAULT_DATABASE
                    || grant.db_name == ANY
            });
            if has_grants && !(force_drop && profile.force_drop) {
                return Err(
                    self.check_failed("failed to check if drop role", RbacError::RoleHasGrants)
                );
            }
            tx.delete_role(role_name).map(drop)
        })
    }

    /// Every role, admin and public included, in byte order.
    pub fn list_roles(&self, caller: &Caller) -> Result<Arc<Names>> {
        self.authorize_global(caller, "SelectOwnership")?;
        self.read(|tx| {
            self.role_list
                .at(tx.role_list_version()?, || tx.role_names())
        })
    }

    /// Milvus's OperateUserRole (add): the role is checked before the user; granting twice is a success.
    pub fn grant_role(&self, caller: &Caller, user_name: &str, role_name: &str) -> Result<()> {
        self.authorize_global(caller, "ManageOwnership")?;
        validate::username(&self.profile().username, user_name)?;
        self.validate_role_name(role_name)?;
        self.write(|tx| {
            if !tx.role_exists(role_name)? {
                return Err(RbacError::RoleNotFound {
                    rpc: Rpc::OperateUserRole,
                });
            }
            if !tx.user_exists(user_name)? {
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
    pub fn revoke_role(&self, caller: &Caller, user_name: &str, role_name: &str) -> Result<()> {
        self.authorize_global(caller, "ManageOwnership")?;
        validate::username(&self.profile().username, user_name)?;
        self.validate_role_name(role_name)?;
        self.write(|tx| {
            if !tx.role_exists(role_name)? {
                return Err(RbacError::RoleNotFound {
                    rpc: Rpc::OperateUserRole,
                });
            }
            tx.remove_user_role(user_name, role_name)
        })
    }
}
