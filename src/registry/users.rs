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

#[cfg(test)]
mod tests {
    use crate::caller::{Caller, Credentials};
    use crate::ops::Reply;
    use crate::password::HashStrength;
    use crate::profile::{ProfileName, MAX_DESCRIPTION_BYTES};
    use crate::registry::testing::{message, registry_with, request};
    use crate::registry::Registry;
    use crate::settings::RegistryOptions;

    /// A registry of `profile` where root is a super user (who changes passwords without the old one).
    fn with_super_root(profile: ProfileName) -> (Registry, Caller) {
        registry_with(RegistryOptions {
            profile: Some(profile),
            password_hash: Some(HashStrength::Fast),
            super_users: Some(vec!["root".into()]),
            ..RegistryOptions::default()
        })
    }

    fn description(registry: &Registry, root: &Caller, user: &str) -> String {
        match registry.execute(root, &request("describe_user", &[("user_name", user)])) {
            Ok(Reply::User(Some(user))) => user.description.clone(),
            other => panic!("describe_user answered {other:?}"),
        }
    }

    /// A super user's new password for a missing user: Milvus 2.4 and 2.5 store it (the user springs into
    /// existence), 2.6 refuses; an ordinary caller is told the old password is wrong.
    #[test]
    fn a_missing_users_password_is_set_by_2_5_and_refused_by_2_6() {
        let update = |registry: &Registry, root| {
            let args = [
                ("user_name", "ghost"),
                ("old_password", ""),
                ("new_password", "N3wP@ssword"),
            ];
            registry
                .execute(root, &request("update_password", &args))
                .map(|_| ())
        };
        let (older, root) = with_super_root(ProfileName::Milvus25);
        update(&older, &root).unwrap();
        assert!(older
            .authenticate(&Credentials::parse("", "", "ghost:N3wP@ssword"), "")
            .is_ok());
        let (newer, root) = with_super_root(ProfileName::Milvus26);
        assert_eq!(
            message(update(&newer, &root)).1,
            "failed to check if update credential: user not found"
        );
        let (plain, root) = crate::registry::testing::registry(ProfileName::Milvus25);
        assert_eq!(
            message(update(&plain, &root)).1,
            "old password not correct for ghost: not authenticated"
        );
    }

    /// Descriptions given with a new password or alone are kept where the line has descriptions (and checked
    /// there), and ignored where it has none.
    #[test]
    fn descriptions_are_kept_only_where_the_line_has_them() {
        let long = "d".repeat(MAX_DESCRIPTION_BYTES + 1);
        for (profile, kept) in [
            (ProfileName::Milvus25, false),
            (ProfileName::Milvus26, true),
        ] {
            let (registry, root) = with_super_root(profile);
            let run =
                |name: &str, args: &[(&str, &str)]| registry.execute(&root, &request(name, args));
            run(
                "create_user",
                &[("user_name", "u"), ("password", "P@ssw0rd1")],
            )
            .unwrap();
            let update = |description: &str| {
                let args = [
                    ("user_name", "u"),
                    ("old_password", "P@ssw0rd1"),
                    ("new_password", "P@ssw0rd1"),
                    ("description", description),
                ];
                run("update_password", &args)
            };
            update("with a password").unwrap();
            assert_eq!(
                description(&registry, &root, "u"),
                if kept { "with a password" } else { "" },
                "{profile}"
            );
            assert_eq!(update(&long).is_err(), kept, "{profile}");
            let alone = run(
                "update_user",
                &[("user_name", "u"), ("description", "alone")],
            );
            if kept {
                alone.unwrap();
                assert_eq!(description(&registry, &root, "u"), "alone");
            } else {
                // Older servers read a description-only update as an empty new password.
                assert_eq!(
                    message(alone).1,
                    "invalid password length: invalid parameter[0 out of range 6 <= value <= 72]"
                );
            }
        }
    }
}
