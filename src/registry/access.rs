//! Privilege checks before every operation, and the explanation of a decision.

use super::{Caller, Registry, DEFAULT_DATABASE, PUBLIC_ROLE, ROOT_USER};
use crate::authz::{decide_by_grants, CustomGroups, Reason, Requirement};
use crate::catalog::ObjectType;
use crate::error::{RbacError, Result};
use crate::store::Tx;
use crate::validate;

/// The answer to "may `user` have `requirement`?", and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub user: String,
    pub requirement: Requirement,
    pub reason: Reason,
}

impl Registry {
    /// Milvus's privilege interceptor for an operation needing `privilege` on `object_name` of `object_type`,
    /// in the caller's database. The caller's credential is checked again first.
    pub(super) fn authorize(
        &self,
        caller: &Caller,
        object_type: ObjectType,
        privilege: &str,
        object_name: &str,
    ) -> Result<()> {
        if !self.settings.authorization_enabled {
            return Ok(());
        }
        self.reauthenticate(caller)?;
        let user = caller.user().unwrap_or_default();
        let requirement = Requirement {
            object_type,
            privilege: privilege.to_string(),
            object_name: object_name.to_string(),
            db_name: caller.db_name().to_string(),
        };
        // Bypasses need no grants, so no transaction.
        let reason = match self.bypass(user, &requirement) {
            Some(reason) => reason,
            None => self.read(|tx| self.decide(tx, user, &requirement))?,
        };
        if reason.allows() {
            return Ok(());
        }
        Err(RbacError::PermissionDenied {
            privilege: privilege.to_string(),
            user: user.to_string(),
            database: self
                .profile()
                .deny_names_database
                .then(|| requirement.db_name.clone()),
        })
    }

    /// A Global requirement on `*`.
    pub(super) fn authorize_global(&self, caller: &Caller, privilege: &str) -> Result<()> {
        self.authorize(caller, ObjectType::Global, privilege, "*")
    }

    /// The decisions that need no grant: authorization off, root, and a user's own User object.
    fn bypass(&self, user: &str, requirement: &Requirement) -> Option<Reason> {
        if !self.settings.authorization_enabled {
            Some(Reason::AuthorizationDisabled)
        } else if user == ROOT_USER && !self.root_should_bind_role {
            Some(Reason::Root)
        } else if requirement.object_type == ObjectType::User && requirement.object_name == user {
            Some(Reason::SelfService)
        } else {
            None
        }
    }

    fn decide(&self, tx: &Tx<'_>, user: &str, requirement: &Requirement) -> Result<Reason> {
        if let Some(reason) = self.bypass(user, requirement) {
            return Ok(reason);
        }
        let mut roles = tx.roles_of_user(user)?;
        if !roles.iter().any(|role| role == PUBLIC_ROLE) {
            roles.push(PUBLIC_ROLE.to_string());
        }
        let mut grants = Vec::new();
        for role in &roles {
            grants.extend(tx.grants_of_role(role)?);
        }
        // Two queries, whatever the number of groups (empty groups count: they grant nothing).
        let mut groups: CustomGroups = tx
            .group_names()?
            .into_iter()
            .map(|name| (name, Vec::new()))
            .collect();
        for (group, privilege) in tx.all_group_members()? {
            groups.entry(group).or_default().push(privilege);
        }
        Ok(decide_by_grants(
            self.profile().catalog,
            requirement,
            &roles,
            &grants,
            &groups,
        ))
    }

    /// Extension: whether `user_name` may have `privilege` on `object_name` of `object_type` in `db_name`,
    /// and which bypass, role, grant or group decides it. Needs `User/SelectUser` on that user (or is one's
    /// own question).
    #[allow(clippy::too_many_arguments)]
    pub fn explain_privilege(
        &self,
        caller: &Caller,
        user_name: &str,
        privilege: &str,
        object_type: &str,
        object_name: &str,
        db_name: &str,
    ) -> Result<Explanation> {
        self.authorize(caller, ObjectType::User, "SelectUser", user_name)?;
        validate::username(&self.profile().username, user_name)?;
        let object_type = ObjectType::parse(object_type).ok_or_else(|| {
            RbacError::invalid(format!(
                "invalid object type {object_type}, expected one of Global, Collection, User: invalid parameter"
            ))
        })?;
        let requirement = Requirement {
            object_type,
            privilege: privilege.to_string(),
            object_name: object_name.to_string(),
            db_name: if db_name.is_empty() {
                DEFAULT_DATABASE.to_string()
            } else {
                db_name.to_string()
            },
        };
        let reason = self.read(|tx| {
            if !tx.user_exists(user_name)? {
                return Err(RbacError::UserNotFound {
                    rpc: crate::error::Rpc::SelectUser,
                });
            }
            self.decide(tx, user_name, &requirement)
        })?;
        Ok(Explanation {
            user: user_name.to_string(),
            requirement,
            reason,
        })
    }
}
