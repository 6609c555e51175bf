//! Privilege checks before every operation, and the explanation of a decision.

use super::snapshot::Snapshot;
use super::{Call, Registry};
use crate::authz::{decide_by_grants, Explanation, Reason, Requirement};
use crate::catalog::{Level, ObjectType};
use crate::error::{RbacError, Result, Rpc};
use crate::model::{database_or_default, ANY, PUBLIC_ROLE, ROOT_USER};
use crate::ops::args;
use crate::validate;

impl Registry {
    /// Milvus's privilege interceptor for an operation needing `privilege` on `object_name` of `object_type`,
    /// in the caller's database. The caller's credential is checked again first.
    pub(super) fn authorize(
        &self,
        call: &Call<'_>,
        object_type: ObjectType,
        privilege: &str,
        object_name: &str,
    ) -> Result<()> {
        if !self.settings().authorization_enabled {
            return Ok(());
        }
        self.reauthenticate(call)?;
        let user = call.caller.user().unwrap_or_default();
        // The bypasses first: they need no requirement built.
        if self.bypass(user, object_type, object_name).is_some() {
            return Ok(());
        }
        let requirement = Requirement {
            object_type,
            privilege: privilege.to_string(),
            object_name: object_name.to_string(),
            db_name: self.checked_database(privilege, call.caller.db_name()),
        };
        if self.decide(call.view(), user, &requirement)?.allows() {
            return Ok(());
        }
        Err(RbacError::PermissionDenied {
            privilege: privilege.to_string(),
            user: user.to_string(),
            database: self
                .profile()
                .deny_names_database
                .then_some(requirement.db_name),
        })
    }

    /// The database a check of `privilege` runs in, for a caller in `db_name`: Milvus 3.0 checks cluster-level
    /// privileges (those of ClusterAdmin, which include every RBAC call's own) in `*`, so only grants in `*`
    /// meet them; earlier lines check every privilege in the caller's database.
    fn checked_database(&self, privilege: &str, db_name: &str) -> String {
        let profile = self.profile();
        let cluster_level = profile.cluster_privileges_in_any_database
            && profile.catalog.level_of(privilege) == Some(Level::Cluster);
        if cluster_level { ANY } else { db_name }.to_string()
    }

    /// The decisions that need no grant: authorization off, root, and a user's own User object.
    fn bypass(&self, user: &str, object_type: ObjectType, object_name: &str) -> Option<Reason> {
        if !self.settings().authorization_enabled {
            Some(Reason::AuthorizationDisabled)
        } else if user == ROOT_USER && !self.root_should_bind_role {
            Some(Reason::Root)
        } else if object_type == ObjectType::User && object_name == user {
            Some(Reason::SelfService)
        } else {
            None
        }
    }

    /// Whether `user` (who need not exist) meets `requirement`, and why; decided once per snapshot.
    fn decide(&self, view: &Snapshot, user: &str, requirement: &Requirement) -> Result<Reason> {
        if let Some(reason) = self.bypass(user, requirement.object_type, &requirement.object_name) {
            return Ok(reason);
        }
        let key = format!(
            "{user}\0{}\0{}\0{}\0{}",
            requirement.object_type,
            requirement.privilege,
            requirement.db_name,
            requirement.object_name
        );
        if let Some(reason) = view.decisions.get(&key) {
            return Ok(reason);
        }
        let store = self.store();
        let mut roles = match view.described_user(store, user)? {
            Some(described) => described.roles.clone(),
            None => Vec::new(),
        };
        if !roles.iter().any(|role| role == PUBLIC_ROLE) {
            roles.push(PUBLIC_ROLE.to_string());
        }
        let mut grants = Vec::new();
        for role in &roles {
            if let Some(entry) = view.role(store, role)? {
                grants.extend(entry.grants.iter().cloned());
            }
        }
        let groups = view.groups(store)?;
        let reason = decide_by_grants(
            self.profile().catalog,
            requirement,
            &roles,
            &grants,
            &groups.by_name,
        );
        // Kept only while this snapshot is the latest: what it was built from was read at its change count.
        if view.version() == self.store().version()?.changes {
            view.decisions.keep(&key, reason.clone());
        }
        Ok(reason)
    }

    /// The answer of `check_privilege` and `explain_privilege`.
    fn explain(
        &self,
        call: &Call<'_>,
        user_name: &str,
        privilege: &str,
        object_type: &str,
        object_name: &str,
        db_name: &str,
    ) -> Result<Explanation> {
        validate::username(&self.profile().username, user_name)?;
        let object_type = ObjectType::parse(object_type).ok_or_else(|| {
            RbacError::invalid(format!(
                "invalid object type {object_type}, expected one of Global, Collection, User: invalid parameter"
            ))
        })?;
        if call.view().user(self.store(), user_name)?.is_none() {
            return Err(RbacError::UserNotFound {
                rpc: Rpc::SelectUser,
            });
        }
        let requirement = Requirement {
            object_type,
            privilege: privilege.to_string(),
            object_name: object_name.to_string(),
            db_name: self.checked_database(privilege, database_or_default(db_name)),
        };
        let reason = self.decide(call.view(), user_name, &requirement)?;
        Ok(Explanation {
            user: user_name.to_string(),
            requirement,
            reason,
        })
    }

    /// Extension: whether `user_name` may have `privilege` on `object_name` of `object_type` in `db_name`.
    pub(super) fn check_privilege(
        &self,
        call: &Call<'_>,
        args: &args::CheckPrivilege,
    ) -> Result<bool> {
        self.explain(
            call,
            &args.user_name,
            &args.privilege,
            &args.object_type,
            &args.object_name,
            &args.db_name,
        )
        .map(|explanation| explanation.reason.allows())
    }

    /// Extension: `check_privilege`'s answer, with the bypass, role, grant or group that decides it.
    pub(super) fn explain_privilege(
        &self,
        call: &Call<'_>,
        args: &args::ExplainPrivilege,
    ) -> Result<Explanation> {
        self.explain(
            call,
            &args.user_name,
            &args.privilege,
            &args.object_type,
            &args.object_name,
            &args.db_name,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caller::{Caller, Credentials};
    use crate::ops::Reply;
    use crate::profile::ProfileName;
    use crate::registry::testing::{registry, request};

    fn allowed(reply: Result<Reply>) -> bool {
        match reply {
            Ok(Reply::Allowed(allowed)) => allowed,
            other => panic!("check_privilege answered {other:?}"),
        }
    }

    /// A user `u` (password P@ssw0rd) holding role `r`, and `u` logged in.
    fn user_with_role(registry: &Registry, root: &Caller) -> Caller {
        let run = |name: &str, args: &[(&str, &str)]| {
            registry.execute(root, &request(name, args)).unwrap()
        };
        run(
            "create_user",
            &[("user_name", "u"), ("password", "P@ssw0rd")],
        );
        run("create_role", &[("role_name", "r")]);
        run("grant_role", &[("user_name", "u"), ("role_name", "r")]);
        registry
            .authenticate(&Credentials::parse("", "", "u:P@ssw0rd"), "")
            .unwrap()
    }

    fn grant_create_ownership(registry: &Registry, root: &Caller, db_name: &str) {
        let args = [
            ("role_name", "r"),
            ("object_type", "Global"),
            ("privilege", "CreateOwnership"),
            ("object_name", "*"),
            ("db_name", db_name),
        ];
        registry
            .execute(root, &request("grant_privilege", &args))
            .unwrap();
    }

    fn create_role_as(registry: &Registry, caller: &Caller, role: &str) -> Result<Reply> {
        registry.execute(caller, &request("create_role", &[("role_name", role)]))
    }

    /// Found by mutation testing: only tests outside the library checked that calls are authorized at all.
    #[test]
    fn calls_need_their_privilege_in_the_callers_database() {
        let (registry, root) = registry(ProfileName::Milvus26);
        let user = user_with_role(&registry, &root);
        let denied = create_role_as(&registry, &user, "r1").unwrap_err();
        assert_eq!(
            denied.to_string(),
            "PrivilegeCreateOwnership: permission deny to u in the `default` database"
        );
        grant_create_ownership(&registry, &root, "");
        assert!(create_role_as(&registry, &user, "r1").is_ok());
    }

    /// Milvus 3.0 checks cluster-level privileges in `*`: a grant in `default` is not enough.
    #[test]
    fn milvus_3_0_checks_cluster_privileges_in_star() {
        let (registry, root) = registry(ProfileName::Milvus30);
        let user = user_with_role(&registry, &root);
        grant_create_ownership(&registry, &root, "");
        let denied = create_role_as(&registry, &user, "r1").unwrap_err();
        assert_eq!(
            denied.to_string(),
            "PrivilegeCreateOwnership: permission deny to u in the `*` database"
        );
        grant_create_ownership(&registry, &root, "*");
        assert!(create_role_as(&registry, &user, "r1").is_ok());
        // A database-level privilege is still checked in the caller's database.
        assert_eq!(registry.checked_database("RenameCollection", "db1"), "db1");
        assert_eq!(registry.checked_database("CreateOwnership", "db1"), "*");
        assert_eq!(registry.checked_database("Search", "db1"), "db1");
    }

    /// Every user holds `public` and its grants, whether or not it holds other roles.
    #[test]
    fn public_grants_reach_every_user() {
        let (registry, root) = registry(ProfileName::Milvus26);
        let user = user_with_role(&registry, &root);
        let check = |name: &str| {
            allowed(registry.execute(
                &root,
                &request(
                    "check_privilege",
                    &[("user_name", name), ("privilege", "DescribeCollection")],
                ),
            ))
        };
        registry
            .execute(
                &root,
                &request(
                    "create_user",
                    &[("user_name", "loner"), ("password", "P@ssw0rd")],
                ),
            )
            .unwrap();
        assert!(check("u"), "a user with a role");
        assert!(check("loner"), "a user with no role");
        // And through a call: public may describe collections, not create roles.
        let decide = |privilege: &str| {
            let requirement = Requirement {
                object_type: ObjectType::Global,
                privilege: privilege.to_string(),
                object_name: ANY.to_string(),
                db_name: "default".to_string(),
            };
            let view = registry.view_at(registry.store().version().unwrap().changes);
            registry
                .decide(&view, user.user().unwrap(), &requirement)
                .unwrap()
        };
        assert!(decide("DescribeCollection").allows());
        assert!(!decide("CreateOwnership").allows());
    }

    /// A decision is kept in the latest snapshot, so that the next call in it is answered from there; one
    /// taken in a snapshot that is no longer the latest is not kept (it may mix reads of two versions).
    #[test]
    fn decisions_are_kept_in_the_latest_snapshot_only() {
        let (registry, root) = registry(ProfileName::Milvus26);
        let user = user_with_role(&registry, &root);
        let requirement = Requirement {
            object_type: ObjectType::Global,
            privilege: "CreateOwnership".to_string(),
            object_name: ANY.to_string(),
            db_name: "default".to_string(),
        };
        let key = format!("u\0Global\0CreateOwnership\0default\0{ANY}");
        let stale = registry.view_at(registry.store().version().unwrap().changes);
        create_role_as(&registry, &root, "r2").unwrap();
        let latest = registry.view_at(registry.store().version().unwrap().changes);
        for view in [&stale, &latest] {
            let reason = registry.decide(view, user.user().unwrap(), &requirement);
            assert!(!reason.unwrap().allows());
        }
        assert!(stale.decisions.get(&key).is_none());
        assert!(latest.decisions.get(&key).is_some());
    }

    /// Self-service covers a user's own User object only: a user named like a collection gains nothing on it.
    #[test]
    fn self_service_is_about_the_user_object_only() {
        let (registry, root) = registry(ProfileName::Milvus26);
        registry
            .execute(
                &root,
                &request(
                    "create_user",
                    &[("user_name", "books"), ("password", "P@ssw0rd")],
                ),
            )
            .unwrap();
        let check = |privilege: &str, object_type: &str| {
            allowed(registry.execute(
                &root,
                &request(
                    "check_privilege",
                    &[
                        ("user_name", "books"),
                        ("privilege", privilege),
                        ("object_type", object_type),
                        ("object_name", "books"),
                    ],
                ),
            ))
        };
        assert!(check("UpdateUser", "User"));
        assert!(!check("Insert", "Collection"));
        assert!(!check("DropCollection", "Global"));
        // And through a call of the user's own: describing oneself passes, inserting into `books` would not.
        let books = registry
            .authenticate(&Credentials::parse("", "", "books:P@ssw0rd"), "")
            .unwrap();
        assert!(registry
            .execute(&books, &request("describe_user", &[("user_name", "books")]))
            .is_ok());
        assert!(registry
            .bypass("books", ObjectType::Collection, "books")
            .is_none());
    }
}
