//! Authorization: may a user do an operation, and why. The rules of Milvus's privilege interceptor, read
//! against the registry's current grants (so a grant or revoke applies to open clients at once).
//!
//! Milvus matches a request `(role, "<ObjectType>-<db>.<object>", "Privilege<Name>")` against each policy of
//! the user's roles (their stored roles and `public`) with two clauses: a glob match of object and action, or
//! an exact database match plus group containment (`All`, and the legacy `ReadOnly`, `ReadWrite`, `Admin`).
//! Built-in and custom groups granted through grant v2 are expanded into one policy per member beforehand.

use std::collections::HashMap;

use crate::catalog::{Catalog, ObjectType};
use crate::model::Grant;

/// Custom privilege groups by name, with their members.
pub type CustomGroups = HashMap<String, Vec<String>>;

/// What an operation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub object_type: ObjectType,
    /// The API name, e.g. `CreateOwnership`.
    pub privilege: String,
    /// `*` for Global requirements.
    pub object_name: String,
    pub db_name: String,
}

/// Why a requirement was met, or that it was not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Authorization is disabled: nothing is checked.
    AuthorizationDisabled,
    /// root passes every check (unless `root_should_bind_role`).
    Root,
    /// Users may read and change themselves (object type `User`, their own name), and read the grants of
    /// their own roles.
    SelfService,
    /// A holder of `admin` passes every check.
    Admin,
    /// A grant of one of the user's roles; `group` is the privilege group it came through, if any.
    Grant { grant: Grant, group: Option<String> },
    /// No role of the user holds the privilege.
    Denied,
}

impl Reason {
    pub fn allows(&self) -> bool {
        !matches!(self, Reason::Denied)
    }
}

/// The answer to "may `user` have `requirement`?", and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub user: String,
    pub requirement: Requirement,
    pub reason: Reason,
}

/// A policy: one (object, action) a role holds, as Milvus's proxy caches it.
struct Policy<'g> {
    object: String,
    action: String,
    grant: &'g Grant,
    group: Option<String>,
}

/// The metastore form of a privilege name, which is what policies and requests carry.
fn action_of(catalog: &Catalog, privilege: &str, is_custom_group: bool) -> String {
    if privilege == "*" {
        "*".to_string()
    } else if is_custom_group
        || catalog.is_builtin_group(privilege)
        || catalog.is_legacy_group(privilege)
    {
        format!("PrivilegeGroup{privilege}")
    } else {
        format!("Privilege{privilege}")
    }
}

/// Milvus's object key: `<ObjectType>-<db>.<object>`.
fn object_key(object_type: &str, db_name: &str, object_name: &str) -> String {
    format!("{object_type}-{db_name}.{object_name}")
}

/// The policies a grant stands for: custom and built-in groups become one policy per member. Global policies
/// always name object `*`.
fn policies<'g>(catalog: &Catalog, grant: &'g Grant, groups: &CustomGroups) -> Vec<Policy<'g>> {
    let expanded = match groups.get(&grant.privilege) {
        Some(members) => Some((members.clone(), Some(grant.privilege.clone()))),
        None => catalog
            .builtin_group(&grant.privilege)
            .map(|members| (members, Some(grant.privilege.clone()))),
    };
    match expanded {
        Some((members, group)) => members
            .into_iter()
            .map(|member| {
                let object_type = catalog.object_type_of(&member);
                let object_name = if object_type == ObjectType::Global {
                    "*"
                } else {
                    &grant.object_name
                };
                Policy {
                    object: object_key(object_type.as_str(), &grant.db_name, object_name),
                    // A group inside a group stays a name: Milvus expands one level only.
                    action: action_of(catalog, &member, groups.contains_key(&member)),
                    grant,
                    group: group.clone(),
                }
            })
            .collect(),
        None => {
            let object_name = if grant.object_type == ObjectType::Global.as_str() {
                "*"
            } else {
                &grant.object_name
            };
            vec![Policy {
                object: object_key(&grant.object_type, &grant.db_name, object_name),
                action: action_of(catalog, &grant.privilege, false),
                grant,
                // Legacy groups stay whole and are looked into at check time.
                group: catalog
                    .is_legacy_group(&grant.privilege)
                    .then(|| grant.privilege.clone()),
            }]
        }
    }
}

/// Go's `filepath.Match` for the patterns policies hold: `*` matches any run of characters but `/`, `?` one
/// character; everything else is literal.
fn glob_match(pattern: &str, key: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let key: Vec<char> = key.chars().collect();
    let (mut p, mut k) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while k < key.len() {
        match pattern.get(p) {
            Some('*') => {
                backtrack = Some((p, k));
                p += 1;
            }
            Some(&c) if c == key[k] || (c == '?' && key[k] != '/') => {
                p += 1;
                k += 1;
            }
            _ => match backtrack {
                Some((star, matched)) if key[matched] != '/' => {
                    // Back to the star, which takes one more character (its arm records the new start).
                    p = star;
                    k = matched + 1;
                }
                _ => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// The database and object parts of an object key.
fn split_key(key: &str) -> (&str, &str) {
    let rest = key.split_once('-').map_or(key, |(_, rest)| rest);
    rest.split_once('.').unwrap_or((rest, ""))
}

/// Milvus's `privilegeGroupContains`: `All` holds everything; the legacy groups hold their members, ReadOnly
/// and ReadWrite on the matching collection only.
fn group_contains(
    catalog: &Catalog,
    request_action: &str,
    policy: &Policy<'_>,
    request_object: &str,
) -> bool {
    let Some(requested) = request_action.strip_prefix("Privilege") else {
        return false;
    };
    match policy.action.as_str() {
        "PrivilegeAll" => true,
        "PrivilegeGroupReadOnly" | "PrivilegeGroupReadWrite" | "PrivilegeGroupAdmin" => {
            let group = &policy.action["PrivilegeGroup".len()..];
            let holds = catalog
                .legacy_group(group)
                .is_some_and(|members| members.contains(&requested));
            let collection_matches = group == "Admin" || {
                let (_, wanted) = split_key(request_object);
                let (_, granted) = split_key(&policy.object);
                wanted == granted || wanted == "*" || granted == "*"
            };
            holds && collection_matches
        }
        _ => false,
    }
}

/// Whether one policy grants the request (Milvus's casbin matcher, less its admin clause).
fn policy_allows(catalog: &Catalog, policy: &Policy<'_>, object: &str, action: &str) -> bool {
    let globbed = glob_match(&policy.object, object) && glob_match(&policy.action, action);
    let same_database = split_key(object).0 == split_key(&policy.object).0;
    globbed || (same_database && group_contains(catalog, action, policy, object))
}

/// Decide a requirement for a user holding `roles` (stored roles; `public` is added here), whose grants are
/// `grants`, in a registry with the custom `groups`. Exemptions and bypasses are the caller's business.
pub fn decide_by_grants(
    catalog: &Catalog,
    requirement: &Requirement,
    roles: &[String],
    grants: &[Grant],
    groups: &CustomGroups,
) -> Reason {
    if roles.iter().any(|role| role == "admin") {
        return Reason::Admin;
    }
    let object = object_key(
        requirement.object_type.as_str(),
        &requirement.db_name,
        &requirement.object_name,
    );
    let action = action_of(catalog, &requirement.privilege, false);
    for grant in grants {
        for policy in policies(catalog, grant, groups) {
            if policy_allows(catalog, &policy, &object, &action) {
                return Reason::Grant {
                    grant: policy.grant.clone(),
                    group: policy.group,
                };
            }
        }
    }
    Reason::Denied
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{CATALOG_24, CATALOG_26};

    fn grant(object_type: &str, db: &str, object: &str, privilege: &str) -> Grant {
        Grant {
            role_name: "r".into(),
            object_type: object_type.into(),
            db_name: db.into(),
            object_name: object.into(),
            privilege: privilege.into(),
            grantor: "root".into(),
        }
    }

    fn need(object_type: ObjectType, privilege: &str, object: &str, db: &str) -> Requirement {
        Requirement {
            object_type,
            privilege: privilege.into(),
            object_name: object.into(),
            db_name: db.into(),
        }
    }

    fn allows(catalog: &Catalog, grants: &[Grant], requirement: &Requirement) -> bool {
        decide_by_grants(
            catalog,
            requirement,
            &["r".to_string()],
            grants,
            &CustomGroups::new(),
        )
        .allows()
    }

    /// Found by mutation testing: a legacy group granted on every collection (`*`) holds its members on any one.
    #[test]
    fn legacy_groups_on_every_collection_hold_on_each() {
        let query = need(ObjectType::Collection, "Query", "books", "default");
        assert!(allows(
            &CATALOG_26,
            &[grant("Collection", "default", "*", "ReadOnly")],
            &query
        ));
        let anywhere = need(ObjectType::Collection, "Query", "*", "default");
        assert!(allows(
            &CATALOG_26,
            &[grant("Collection", "default", "books", "ReadOnly")],
            &anywhere
        ));
        assert!(!allows(
            &CATALOG_26,
            &[grant("Collection", "default", "films", "ReadOnly")],
            &query
        ));
    }

    /// Found by mutation testing: Milvus expands a custom group one level only; a custom group named inside
    /// another stays a group name, which no request for a privilege of that name meets.
    #[test]
    fn a_custom_group_inside_another_stays_a_name() {
        let groups: CustomGroups = [
            (
                "outer".to_string(),
                vec!["inner".to_string(), "Query".to_string()],
            ),
            ("inner".to_string(), vec!["Search".to_string()]),
        ]
        .into_iter()
        .collect();
        let decide = |object_type: ObjectType, privilege: &str| {
            decide_by_grants(
                &CATALOG_26,
                &need(object_type, privilege, "books", "default"),
                &["r".to_string()],
                &[grant("Global", "default", "books", "outer")],
                &groups,
            )
            .allows()
        };
        assert!(decide(ObjectType::Collection, "Query"));
        assert!(!decide(ObjectType::Collection, "Search"));
        assert!(!decide(ObjectType::Global, "inner"));
    }

    #[test]
    fn globs_match_like_go_filepath() {
        assert!(glob_match("Global-*.*", "Global-default.*"));
        assert!(glob_match(
            "Collection-default.*",
            "Collection-default.books"
        ));
        assert!(!glob_match(
            "Collection-default.books",
            "Collection-default.book"
        ));
        assert!(glob_match("*", "PrivilegeSearch"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a*", "a/b"));
    }

    #[test]
    fn grants_match_requests_as_milvus_does() {
        let search = need(ObjectType::Collection, "Search", "books", "default");
        let on = |g: Grant| allows(&CATALOG_26, &[g], &search);
        assert!(on(grant("Collection", "default", "books", "Search")));
        assert!(on(grant("Collection", "default", "*", "Search")));
        assert!(on(grant("Collection", "*", "*", "Search")));
        assert!(on(grant("Collection", "default", "books", "*")));
        assert!(!on(grant("Collection", "default", "films", "Search")));
        assert!(!on(grant("Collection", "db1", "books", "Search")));
        assert!(!on(grant("Collection", "default", "books", "Query")));
        // Legacy groups: by collection for ReadOnly, everywhere in the database for Admin.
        assert!(on(grant("Collection", "default", "books", "ReadOnly")));
        assert!(!on(grant("Collection", "default", "films", "ReadOnly")));
        assert!(on(grant("Global", "default", "*", "Admin")));
        // Global All holds every privilege of its database, and only there (no wildcard in dbMatch).
        assert!(on(grant("Global", "default", "*", "All")));
        assert!(!on(grant("Global", "*", "*", "All")));
        // Built-in groups expand into their members.
        assert!(on(grant(
            "Global",
            "default",
            "books",
            "CollectionReadOnly"
        )));
        assert!(!on(grant(
            "Global",
            "default",
            "films",
            "CollectionReadOnly"
        )));
        assert!(!allows(
            &CATALOG_24,
            &[grant("Global", "default", "books", "CollectionReadOnly")],
            &search
        ));
    }

    #[test]
    fn global_and_user_requirements() {
        let create = need(ObjectType::Global, "CreateOwnership", "*", "default");
        assert!(allows(
            &CATALOG_26,
            &[grant("Global", "default", "*", "CreateOwnership")],
            &create
        ));
        assert!(allows(
            &CATALOG_26,
            &[grant("Global", "*", "*", "CreateOwnership")],
            &create
        ));
        assert!(!allows(
            &CATALOG_26,
            &[grant("Global", "no_such_db", "*", "CreateOwnership")],
            &create
        ));
        assert!(allows(
            &CATALOG_26,
            &[grant("Global", "*", "*", "ClusterAdmin")],
            &create
        ));
        let update_v = need(ObjectType::User, "UpdateUser", "v", "default");
        assert!(allows(
            &CATALOG_26,
            &[grant("User", "default", "v", "UpdateUser")],
            &update_v
        ));
        assert!(allows(
            &CATALOG_26,
            &[grant("User", "default", "*", "UpdateUser")],
            &update_v
        ));
        assert!(!allows(
            &CATALOG_26,
            &[grant("User", "default", "w", "UpdateUser")],
            &update_v
        ));
        // ClusterAdmin's UpdateUser is a User privilege on the grant's object.
        assert!(allows(
            &CATALOG_26,
            &[grant("Global", "*", "*", "ClusterAdmin")],
            &update_v
        ));
        let admin = decide_by_grants(
            &CATALOG_26,
            &create,
            &["admin".into()],
            &[],
            &CustomGroups::new(),
        );
        assert_eq!(admin, Reason::Admin);
    }

    #[test]
    fn custom_groups_expand_one_level() {
        let members = CustomGroups::from([
            (
                "ops".to_string(),
                vec!["Load".to_string(), "inner".to_string()],
            ),
            ("inner".to_string(), vec!["Release".to_string()]),
        ]);
        let grants = [grant("Global", "*", "*", "ops")];
        let load = need(ObjectType::Collection, "Load", "books", "default");
        let release = need(ObjectType::Collection, "Release", "books", "default");
        let roles = ["r".to_string()];
        let reason = decide_by_grants(&CATALOG_26, &load, &roles, &grants, &members);
        assert!(matches!(reason, Reason::Grant { group: Some(ref g), .. } if g == "ops"));
        assert_eq!(
            decide_by_grants(&CATALOG_26, &release, &roles, &grants, &members),
            Reason::Denied
        );
    }
}
