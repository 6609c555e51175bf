//! What a `MilvusClient` talks to: an embedded [`Registry`], or a server through its REST API
//! ([`crate::remote::RemoteRegistry`]). Both take the same operations and answer with the same values and
//! errors.

use std::sync::Arc;

use crate::catalog::Group;
use crate::error::Result;
use crate::registry::{
    Caller, Explanation, GroupChange, Operation, RbacBackup, Registry, RoleDescription,
    UserDescription,
};
use crate::store::Names;

/// The operations of a registry, wherever it is.
#[allow(clippy::too_many_arguments)]
pub trait Backend: Send + Sync {
    /// What to show in a client's repr (its profile, or its server).
    fn describe(&self) -> String;
    fn create_user(
        &self,
        caller: &Caller,
        user_name: &str,
        password: &str,
        description: Option<&str>,
    ) -> Result<()>;
    fn update_password(
        &self,
        caller: &Caller,
        user_name: &str,
        old_password: &str,
        new_password: &str,
        description: Option<&str>,
    ) -> Result<()>;
    fn update_user(&self, caller: &Caller, user_name: &str, description: &str) -> Result<()>;
    fn drop_user(&self, caller: &Caller, user_name: &str) -> Result<()>;
    fn list_users(&self, caller: &Caller) -> Result<Arc<Names>>;
    fn describe_user(&self, caller: &Caller, user_name: &str) -> Result<Option<UserDescription>>;
    fn create_role(
        &self,
        caller: &Caller,
        role_name: &str,
        description: Option<&str>,
    ) -> Result<()>;
    fn alter_role(&self, caller: &Caller, role_name: &str, description: &str) -> Result<()>;
    fn drop_role(&self, caller: &Caller, role_name: &str, force_drop: bool) -> Result<()>;
    fn list_roles(&self, caller: &Caller) -> Result<Arc<Names>>;
    fn grant_role(&self, caller: &Caller, user_name: &str, role_name: &str) -> Result<()>;
    fn revoke_role(&self, caller: &Caller, user_name: &str, role_name: &str) -> Result<()>;
    fn operate_privilege(
        &self,
        caller: &Caller,
        operation: Operation,
        role_name: &str,
        object_type: &str,
        privilege: &str,
        object_name: &str,
        db_name: &str,
    ) -> Result<()>;
    fn operate_privilege_v2(
        &self,
        caller: &Caller,
        operation: Operation,
        role_name: &str,
        privilege: &str,
        collection_name: &str,
        db_name: &str,
    ) -> Result<()>;
    fn describe_role(
        &self,
        caller: &Caller,
        role_name: &str,
        db_name: &str,
    ) -> Result<RoleDescription>;
    fn create_privilege_group(&self, caller: &Caller, group_name: &str) -> Result<()>;
    fn drop_privilege_group(&self, caller: &Caller, group_name: &str) -> Result<()>;
    fn list_privilege_groups(&self, caller: &Caller) -> Result<Vec<Group>>;
    fn change_privilege_group(
        &self,
        caller: &Caller,
        change: GroupChange,
        group_name: &str,
        privileges: &[String],
    ) -> Result<()>;
    fn backup_rbac(&self, caller: &Caller) -> Result<RbacBackup>;
    fn restore_rbac(&self, caller: &Caller, backup: &RbacBackup) -> Result<()>;
    fn explain_privilege(
        &self,
        caller: &Caller,
        user_name: &str,
        privilege: &str,
        object_type: &str,
        object_name: &str,
        db_name: &str,
    ) -> Result<Explanation>;
}

impl Backend for Registry {
    fn describe(&self) -> String {
        format!("profile={:?}", self.settings().profile.as_str())
    }
    fn create_user(
        &self,
        caller: &Caller,
        user_name: &str,
        password: &str,
        description: Option<&str>,
    ) -> Result<()> {
        Registry::create_user(self, caller, user_name, password, description)
    }
    fn update_password(
        &self,
        caller: &Caller,
        user_name: &str,
        old_password: &str,
        new_password: &str,
        description: Option<&str>,
    ) -> Result<()> {
        Registry::update_password(
            self,
            caller,
            user_name,
            old_password,
            new_password,
            description,
        )
    }
    fn update_user(&self, caller: &Caller, user_name: &str, description: &str) -> Result<()> {
        Registry::update_user(self, caller, user_name, description)
    }
    fn drop_user(&self, caller: &Caller, user_name: &str) -> Result<()> {
        Registry::drop_user(self, caller, user_name)
    }
    fn list_users(&self, caller: &Caller) -> Result<Arc<Names>> {
        Registry::list_users(self, caller)
    }
    fn describe_user(&self, caller: &Caller, user_name: &str) -> Result<Option<UserDescription>> {
        Registry::describe_user(self, caller, user_name)
    }
    fn create_role(
        &self,
        caller: &Caller,
        role_name: &str,
        description: Option<&str>,
    ) -> Result<()> {
        Registry::create_role(self, caller, role_name, description)
    }
    fn alter_role(&self, caller: &Caller, role_name: &str, description: &str) -> Result<()> {
        Registry::alter_role(self, caller, role_name, description)
    }
    fn drop_role(&self, caller: &Caller, role_name: &str, force_drop: bool) -> Result<()> {
        Registry::drop_role(self, caller, role_name, force_drop)
    }
    fn list_roles(&self, caller: &Caller) -> Result<Arc<Names>> {
        Registry::list_roles(self, caller)
    }
    fn grant_role(&self, caller: &Caller, user_name: &str, role_name: &str) -> Result<()> {
        Registry::grant_role(self, caller, user_name, role_name)
    }
    fn revoke_role(&self, caller: &Caller, user_name: &str, role_name: &str) -> Result<()> {
        Registry::revoke_role(self, caller, user_name, role_name)
    }
    fn operate_privilege(
        &self,
        caller: &Caller,
        operation: Operation,
        role_name: &str,
        object_type: &str,
        privilege: &str,
        object_name: &str,
        db_name: &str,
    ) -> Result<()> {
        Registry::operate_privilege(
            self,
            caller,
            operation,
            role_name,
            object_type,
            privilege,
            object_name,
            db_name,
        )
    }
    fn operate_privilege_v2(
        &self,
        caller: &Caller,
        operation: Operation,
        role_name: &str,
        privilege: &str,
        collection_name: &str,
        db_name: &str,
    ) -> Result<()> {
        Registry::operate_privilege_v2(
            self,
            caller,
            operation,
            role_name,
            privilege,
            collection_name,
            db_name,
        )
    }
    fn describe_role(
        &self,
        caller: &Caller,
        role_name: &str,
        db_name: &str,
    ) -> Result<RoleDescription> {
        Registry::describe_role(self, caller, role_name, db_name)
    }
    fn create_privilege_group(&self, caller: &Caller, group_name: &str) -> Result<()> {
        Registry::create_privilege_group(self, caller, group_name)
    }
    fn drop_privilege_group(&self, caller: &Caller, group_name: &str) -> Result<()> {
        Registry::drop_privilege_group(self, caller, group_name)
    }
    fn list_privilege_groups(&self, caller: &Caller) -> Result<Vec<Group>> {
        Registry::list_privilege_groups(self, caller)
    }
    fn change_privilege_group(
        &self,
        caller: &Caller,
        change: GroupChange,
        group_name: &str,
        privileges: &[String],
    ) -> Result<()> {
        Registry::change_privilege_group(self, caller, change, group_name, privileges)
    }
    fn backup_rbac(&self, caller: &Caller) -> Result<RbacBackup> {
        Registry::backup_rbac(self, caller)
    }
    fn restore_rbac(&self, caller: &Caller, backup: &RbacBackup) -> Result<()> {
        Registry::restore_rbac(self, caller, backup)
    }
    fn explain_privilege(
        &self,
        caller: &Caller,
        user_name: &str,
        privilege: &str,
        object_type: &str,
        object_name: &str,
        db_name: &str,
    ) -> Result<Explanation> {
        Registry::explain_privilege(
            self,
            caller,
            user_name,
            privilege,
            object_type,
            object_name,
            db_name,
        )
    }
}
