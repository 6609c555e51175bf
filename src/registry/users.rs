//! Users: create, update, drop, list, describe.

use std::sync::Arc;

use super::snapshot::List;
use super::{Call, Registry};
use crate::error::{RbacError, Result};
use crate::model::{Names, UserDescription, ROOT_USER};
use crate::ops::args;
use crate::store::ReadTx;
use crate::validate;

impl Registry {
    /// Milvus's CreateCredential. The description is kept only in profiles with descriptions (older servers
    /// ignore it).
    pub(super) fn create_user(&self, call: &Call<'_>, args: &args::CreateUser) -> Result<()> {
        let profile = self.profile();
        let password = args.password.as_str();
        validate::username(&profile.username, &args.user_name)?;
        validate::password(&profile.password, password)?;
        validate::password_hashable(&profile.password, password)?;
        let description = self.description_to_keep("user", args.description.as_deref())?;
        let name = if profile.username.store_trimmed {
            args.user_name.trim()
        } else {
            &args.user_name
        };
        self.read(|tx| self.admit_user(tx, name))?;
        let hash = self.hash_password(password)?;
        call.write(|tx| {
            self.admit_user(tx, name)?;
            tx.insert_user(name, &hash, description.unwrap_or_default())
        })
    }

    /// The duplicate and limit checks of CreateCredential, in the profile's order.
    fn admit_user(&self, tx: &dyn ReadTx, name: &str) -> Result<()> {
        let at_limit = || -> Result<bool> {
            Ok(matches!(self.settings().max_users, Some(max) if tx.user_count()? >= max))
        };
        let limit_error =
            || self.check_failed("failed to check if add credential", RbacError::UserLimit);
        if self.profile().user_limit_before_duplicate && at_limit()? {
            return Err(limit_error());
        }
        if tx.user(name)?.is_some() {
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
    pub(super) fn update_password(
        &self,
        call: &Call<'_>,
        args: &args::UpdatePassword,
    ) -> Result<()> {
        let profile = self.profile();
        let user_name = args.user_name.as_str();
        let new_password = args.new_password.as_str();
        validate::password(&profile.password, new_password)?;
        let super_user = call
            .caller
            .user()
            .is_some_and(|user| self.settings().is_super_user(user));
        let wrong_old_password = || RbacError::OldPasswordIncorrect {
            user: if profile.old_password_message_trims_end {
                user_name.trim_end_matches([' ', '\n']).to_string()
            } else {
                user_name.to_string()
            },
        };
        if !super_user
            && self
                .verify_password(call.view(), user_name, args.old_password.as_str())?
                .is_none()
        {
            return Err(wrong_old_password());
        }
        validate::password_hashable(&profile.password, new_password)?;
        let description = self.description_to_keep("user", args.description.as_deref())?;
        let hash = self.hash_password(new_password)?;
        call.write(|tx| {
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
    pub(super) fn update_user(&self, call: &Call<'_>, args: &args::UpdateUser) -> Result<()> {
        let profile = self.profile();
        if !profile.descriptions {
            return validate::password(&profile.password, "");
        }
        validate::description("user", &args.description)?;
        let name = if profile.username.store_trimmed {
            args.user_name.trim()
        } else {
            &args.user_name
        };
        if name.is_empty() {
            return Err(RbacError::invalid("username is empty: invalid parameter"));
        }
        call.write(|tx| {
            if tx.set_user_description(name, &args.description)? {
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
    pub(super) fn drop_user(&self, call: &Call<'_>, args: &args::DropUser) -> Result<()> {
        let user_name = args.user_name.as_str();
        if user_name == ROOT_USER {
            return Err(RbacError::NotPermitted {
                what: "root user cannot be deleted".into(),
            });
        }
        if user_name.trim().is_empty() {
            return Err(RbacError::DropEmptyUser);
        }
        call.write(|tx| tx.delete_user(user_name).map(drop))
    }

    /// Every user, root included, in byte order.
    pub(super) fn list_users(
        &self,
        call: &Call<'_>,
        _args: &args::ListUsers,
    ) -> Result<Arc<Names>> {
        call.view().names(List::Users, self.store())
    }

    /// The user's roles (not the implicit `public`) and description; `None` if there is no such user.
    pub(super) fn describe_user(
        &self,
        call: &Call<'_>,
        args: &args::DescribeUser,
    ) -> Result<Option<Arc<UserDescription>>> {
        validate::username(&self.profile().username, &args.user_name)?;
        call.view().described_user(self.store(), &args.user_name)
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
