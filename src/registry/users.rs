//! Users: create, update, drop, list, describe.

use std::sync::Arc;

use super::{Caller, Registry, UserDescription, ROOT_USER};
use crate::catalog::ObjectType;
use crate::error::{RbacError, Result};
use crate::store::{Names, Tx};
use crate::validate;

impl Registry {
    /// Milvus's CreateCredential. `description` is kept only in profiles with descriptions (older servers
    /// ignore it).
    pub fn create_user(
        &self,
        caller: &Caller,
        user_name: &str,
        password: &str,
        description: Option<&str>,
    ) -> Result<()> {
        self.authorize_global(caller, "CreateOwnership")?;
        let profile = self.profile();
        validate::username(&profile.username, user_name)?;
        validate::password(&profile.password, password)?;
        validate::password_hashable(&profile.password, password)?;
        let description = self.description_to_keep("user", description)?;
        let name = if profile.username.store_trimmed {
            user_name.trim()
        } else {
            user_name
        };
        self.read(|tx| self.admit_user(tx, name))?;
        let hash = self.hash_password(password)?;
        self.write(|tx| {
            self.admit_user(tx, name)?;
            tx.insert_user(name, &hash, description.unwrap_or_default())
        })
    }

    /// The duplicate and limit checks of CreateCredential, in the profile's order.
    fn admit_user(&self, tx: &Tx<'_>, name: &str) -> Result<()> {
        let at_limit = || -> Result<bool> {
            Ok(matches!(self.settings.max_users, Some(max) if tx.user_count()? >= max))
        };
        let limit_error =
            || self.check_failed("failed to check if add credential", RbacError::UserLimit);
        if self.profile().user_limit_before_duplicate && at_limit()? {
            return Err(limit_error());
        }
        if tx.user_exists(name)? {
            return Err(RbacError::UserExists {
                user: name.to_string(),
            });
        }
        if at_limit()? {
            return Err(limit_error());
        }
        Ok(())
    }

    /// Milvus's UpdateCredential. The old password must be right unless the caller is a super user.
    pub fn update_password(
        &self,
        caller: &Caller,
        user_name: &str,
        old_password: &str,
        new_password: &str,
        description: Option<&str>,
    ) -> Result<()> {
        self.authorize(caller, ObjectType::User, "UpdateUser", user_name)?;
        let profile = self.profile();
        validate::password(&profile.password, new_password)?;
        let super_user = caller
            .user()
            .is_some_and(|user| self.settings.is_super_user(user));
        let wrong_old_password = || RbacError::OldPasswordIncorrect {
            user: if profile.old_password_message_trims_end {
                user_name.trim_end_matches([' ', '\n']).to_string()
            } else {
                user_name.to_string()
            },
        };
        if !super_user && !self.verify_password(user_name, old_password)? {
            return Err(wrong_old_password());
        }
        validate::password_hashable(&profile.password, new_password)?;
        let description = self.description_to_keep("user", description)?;
        let hash = self.hash_password(new_password)?;
        self.write(|tx| {
            if !tx.set_password_hash(user_name, &hash)? {
                if !super_user {
                    // Dropped between the verification and now.
                    return Err(wrong_old_password());
                }
                if !profile.update_creates_missing_user {
                    return Err(self.check_failed(
                        "failed to check if update credential",
                        RbacError::UpdatedUserNotFound,
                    ));
                }
                // Milvus 2.4/2.5 store the credential without looking: the user springs into existence.
                tx.insert_user(user_name, &hash, "")?;
            }
            if let Some(description) = description {
                tx.set_user_description(user_name, description)?;
            }
            Ok(())
        })
    }

    /// Milvus 2.6.19's description-only UpdateCredential (no old password asked). Older servers see an empty
    /// new password.
    pub fn update_user(&self, caller: &Caller, user_name: &str, description: &str) -> Result<()> {
        self.authorize(caller, ObjectType::User, "UpdateUser", user_name)?;
        let profile = self.profile();
        if !profile.descriptions {
            return validate::password(&profile.password, "");
        }
        validate::description("user", description)?;
        let name = if profile.username.store_trimmed {
            user_name.trim()
        } else {
            user_name
        };
        if name.is_empty() {
            return Err(RbacError::invalid("username is empty: invalid parameter"));
        }
        self.write(|tx| {
            if tx.set_user_description(name, description)? {
                Ok(())
            } else {
                Err(self.check_failed(
                    "failed to check if update credential",
                    RbacError::UpdatedUserNotFound,
                ))
            }
        })
    }

    /// Milvus's DeleteCredential: root cannot be dropped; a missing user is a success; memberships go too.
    pub fn drop_user(&self, caller: &Caller, user_name: &str) -> Result<()> {
        self.authorize_global(caller, "DropOwnership")?;
        if user_name == ROOT_USER {
            return Err(RbacError::NotPermitted {
                what: "root user cannot be deleted".into(),
            });
        }
        if user_name.trim().is_empty() {
            return Err(RbacError::DropEmptyUser);
        }
        self.write(|tx| tx.delete_user(user_name).map(drop))
    }

    /// Every user, root included, in byte order.
    pub fn list_users(&self, caller: &Caller) -> Result<Arc<Names>> {
        self.authorize_global(caller, "SelectOwnership")?;
        self.read(|tx| {
            self.user_list
                .at(tx.user_list_version()?, || tx.user_names())
        })
    }

    /// The user's roles (not the implicit `public`) and description; `None` if there is no such user.
    pub fn describe_user(
        &self,
        caller: &Caller,
        user_name: &str,
    ) -> Result<Option<UserDescription>> {
        self.authorize(caller, ObjectType::User, "SelectUser", user_name)?;
        validate::username(&self.profile().username, user_name)?;
        self.read(|tx| {
            let Some(description) = tx.user_description(user_name)? else {
                return Ok(None);
            };
            Ok(Some(UserDescription {
                name: user_name.to_string(),
                roles: tx.roles_of_user(user_name)?,
                description,
            }))
        })
    }

    /// The description to store: validated in profiles that keep descriptions, dropped in the others.
    pub(super) fn description_to_keep<'d>(
        &self,
        kind: &str,
        description: Option<&'d str>,
    ) -> Result<Option<&'d str>> {
        match description {
            Some(text) if self.profile().descriptions => {
                validate::description(kind, text)?;
                Ok(Some(text))
            }
            _ => Ok(None),
        }
    }
}
