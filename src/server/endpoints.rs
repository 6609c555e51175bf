//! The RBAC endpoints of Milvus's REST API v2: one function per path, from a parsed body to the `data` of the
//! response.

use serde_json::{json, Value};

use super::request::{Body, BodyError};
use crate::error::RbacError;
use crate::registry::{Caller, GroupChange, Operation, Registry};

/// Why a request failed: its body, or the registry.
pub enum Failure {
    Body(BodyError),
    Registry(RbacError),
}

impl From<BodyError> for Failure {
    fn from(err: BodyError) -> Failure {
        Failure::Body(err)
    }
}

impl From<RbacError> for Failure {
    fn from(err: RbacError) -> Failure {
        Failure::Registry(err)
    }
}

/// What a handler gets: the registry, who calls, the body, and the database of the request (body `dbName`,
/// else the `DB-Name` header, else `default`).
pub struct Request<'r> {
    pub registry: &'r Registry,
    pub caller: &'r Caller,
    pub body: &'r Body,
    pub header_db: &'r str,
}

impl Request<'_> {
    fn db_name(&self) -> Result<String, BodyError> {
        let db = self.body.text("dbName")?;
        Ok(if db.is_empty() {
            self.header_db.to_string()
        } else {
            db
        })
    }
}

/// What a handler answers: the `data` of the envelope, and a description to show beside it.
pub struct Reply {
    pub data: Value,
    pub description: Option<String>,
    /// For `/users/describe`: whether the user exists, which the envelope (`[]` either way) does not say.
    pub user_found: Option<bool>,
}

impl From<Value> for Reply {
    fn from(data: Value) -> Reply {
        Reply {
            data,
            description: None,
            user_found: None,
        }
    }
}

type Handler = fn(&Request<'_>) -> Result<Reply, Failure>;

/// One endpoint: its path under `/v2/vectordb`, the Go struct Milvus binds its body to, and its handler.
pub struct Endpoint {
    pub path: &'static str,
    pub kind: &'static str,
    pub handler: Handler,
    /// A line for the OpenAPI document.
    pub summary: &'static str,
    /// Body fields: (name, required, is a list).
    pub fields: &'static [(&'static str, bool, bool)],
}

fn empty() -> Value {
    json!({})
}

fn optional(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

fn list_users(r: &Request<'_>) -> Result<Reply, Failure> {
    Ok(json!(r.registry.list_users(r.caller)?.iter().collect::<Vec<_>>()).into())
}

fn describe_user(r: &Request<'_>) -> Result<Reply, Failure> {
    let user = r.body.required("userName")?;
    let found = r.registry.describe_user(r.caller, &user)?;
    let descriptions = r.registry.profile().descriptions;
    Ok(Reply {
        description: found
            .as_ref()
            .filter(|_| descriptions)
            .map(|user| user.description.clone()),
        user_found: Some(found.is_some()),
        data: json!(found.map(|user| user.roles).unwrap_or_default()),
    })
}

fn create_user(r: &Request<'_>) -> Result<Reply, Failure> {
    let user = r.body.required("userName")?;
    let password = r.body.required("password")?;
    let description = optional(r.body.text("description")?);
    r.registry
        .create_user(r.caller, &user, &password, description.as_deref())?;
    Ok(empty().into())
}

fn update_password(r: &Request<'_>) -> Result<Reply, Failure> {
    let user = r.body.required("userName")?;
    let old = r.body.required("password")?;
    let new = r.body.required("newPassword")?;
    r.registry
        .update_password(r.caller, &user, &old, &new, None)?;
    Ok(empty().into())
}

fn drop_user(r: &Request<'_>) -> Result<Reply, Failure> {
    let user = r.body.required("userName")?;
    r.registry.drop_user(r.caller, &user)?;
    Ok(empty().into())
}

fn grant_role(r: &Request<'_>) -> Result<Reply, Failure> {
    let user = r.body.required("userName")?;
    let role = r.body.required("roleName")?;
    r.registry.grant_role(r.caller, &user, &role)?;
    Ok(empty().into())
}

fn revoke_role(r: &Request<'_>) -> Result<Reply, Failure> {
    let user = r.body.required("userName")?;
    let role = r.body.required("roleName")?;
    r.registry.revoke_role(r.caller, &user, &role)?;
    Ok(empty().into())
}

fn list_roles(r: &Request<'_>) -> Result<Reply, Failure> {
    Ok(json!(r.registry.list_roles(r.caller)?.iter().collect::<Vec<_>>()).into())
}

fn describe_role(r: &Request<'_>) -> Result<Reply, Failure> {
    let role = r.body.required("roleName")?;
    let db = r.db_name()?;
    let described = r.registry.describe_role(r.caller, &role, &db)?;
    let grants: Vec<Value> = described
        .grants
        .iter()
        .map(|grant| {
            json!({
                "objectType": grant.object_type,
                "objectName": grant.object_name,
                "privilege": grant.privilege,
                "dbName": grant.db_name,
                "grantor": grant.grantor,
            })
        })
        .collect();
    Ok(Reply {
        data: Value::Array(grants),
        description: r
            .registry
            .profile()
            .descriptions
            .then_some(described.description),
        user_found: None,
    })
}

fn create_role(r: &Request<'_>) -> Result<Reply, Failure> {
    let role = r.body.required("roleName")?;
    let description = optional(r.body.text("description")?);
    r.registry
        .create_role(r.caller, &role, description.as_deref())?;
    Ok(empty().into())
}

fn alter_role(r: &Request<'_>) -> Result<Reply, Failure> {
    let role = r.body.required("roleName")?;
    let description = r.body.text("description")?;
    r.registry.alter_role(r.caller, &role, &description)?;
    Ok(empty().into())
}

fn drop_role(r: &Request<'_>) -> Result<Reply, Failure> {
    let role = r.body.required("roleName")?;
    r.registry.drop_role(r.caller, &role, false)?;
    Ok(empty().into())
}

fn privilege_v1(r: &Request<'_>, operation: Operation) -> Result<Reply, Failure> {
    let role = r.body.required("roleName")?;
    let object_type = r.body.required("objectType")?;
    let object_name = r.body.required("objectName")?;
    let privilege = r.body.required("privilege")?;
    let db = r.db_name()?;
    r.registry.operate_privilege(
        r.caller,
        operation,
        &role,
        &object_type,
        &privilege,
        &object_name,
        &db,
    )?;
    Ok(empty().into())
}

fn grant_privilege(r: &Request<'_>) -> Result<Reply, Failure> {
    privilege_v1(r, Operation::Grant)
}

fn revoke_privilege(r: &Request<'_>) -> Result<Reply, Failure> {
    privilege_v1(r, Operation::Revoke)
}

fn privilege_v2(r: &Request<'_>, operation: Operation) -> Result<Reply, Failure> {
    let role = r.body.required("roleName")?;
    let privilege = r.body.required("privilege")?;
    // Milvus reads grant v2's database from the body only.
    let db = r.body.text("dbName")?;
    let collection = r.body.text("collectionName")?;
    r.registry
        .operate_privilege_v2(r.caller, operation, &role, &privilege, &collection, &db)?;
    Ok(empty().into())
}

fn grant_privilege_v2(r: &Request<'_>) -> Result<Reply, Failure> {
    privilege_v2(r, Operation::Grant)
}

fn revoke_privilege_v2(r: &Request<'_>) -> Result<Reply, Failure> {
    privilege_v2(r, Operation::Revoke)
}

fn create_privilege_group(r: &Request<'_>) -> Result<Reply, Failure> {
    let group = r.body.required("privilegeGroupName")?;
    r.registry.create_privilege_group(r.caller, &group)?;
    Ok(empty().into())
}

fn drop_privilege_group(r: &Request<'_>) -> Result<Reply, Failure> {
    let group = r.body.required("privilegeGroupName")?;
    r.registry.drop_privilege_group(r.caller, &group)?;
    Ok(empty().into())
}

fn list_privilege_groups(r: &Request<'_>) -> Result<Reply, Failure> {
    let groups: Vec<Value> = r
        .registry
        .list_privilege_groups(r.caller)?
        .into_iter()
        .map(|group| {
            json!({
                "privilegeGroupName": group.name,
                "privileges": group.privileges.join(","),
            })
        })
        .collect();
    Ok(json!({ "privilegeGroups": groups }).into())
}

fn change_group(r: &Request<'_>, change: GroupChange) -> Result<Reply, Failure> {
    let group = r.body.required("privilegeGroupName")?;
    let privileges = r.body.texts("privileges")?;
    r.registry
        .change_privilege_group(r.caller, change, &group, &privileges)?;
    Ok(empty().into())
}

fn add_privileges_to_group(r: &Request<'_>) -> Result<Reply, Failure> {
    change_group(r, GroupChange::Add)
}

fn remove_privileges_from_group(r: &Request<'_>) -> Result<Reply, Failure> {
    change_group(r, GroupChange::Remove)
}

const DB: (&str, bool, bool) = ("dbName", false, false);
const USER: (&str, bool, bool) = ("userName", true, false);
const ROLE: (&str, bool, bool) = ("roleName", true, false);
const GROUP: (&str, bool, bool) = ("privilegeGroupName", true, false);

/// Every RBAC path of Milvus's REST API v2.
pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        path: "/users/list",
        kind: "DatabaseReq",
        handler: list_users,
        summary: "List users",
        fields: &[DB],
    },
    Endpoint {
        path: "/users/describe",
        kind: "UserReq",
        handler: describe_user,
        summary: "A user's roles",
        fields: &[DB, USER],
    },
    Endpoint {
        path: "/users/create",
        kind: "PasswordReq",
        handler: create_user,
        summary: "Create a user",
        fields: &[
            DB,
            USER,
            ("password", true, false),
            ("description", false, false),
        ],
    },
    Endpoint {
        path: "/users/update_password",
        kind: "NewPasswordReq",
        handler: update_password,
        summary: "Change a password",
        fields: &[
            DB,
            USER,
            ("password", true, false),
            ("newPassword", true, false),
        ],
    },
    Endpoint {
        path: "/users/drop",
        kind: "UserReq",
        handler: drop_user,
        summary: "Drop a user",
        fields: &[DB, USER],
    },
    Endpoint {
        path: "/users/grant_role",
        kind: "UserRoleReq",
        handler: grant_role,
        summary: "Grant a role to a user",
        fields: &[DB, USER, ROLE],
    },
    Endpoint {
        path: "/users/revoke_role",
        kind: "UserRoleReq",
        handler: revoke_role,
        summary: "Revoke a role from a user",
        fields: &[DB, USER, ROLE],
    },
    Endpoint {
        path: "/roles/list",
        kind: "DatabaseReq",
        handler: list_roles,
        summary: "List roles",
        fields: &[DB],
    },
    Endpoint {
        path: "/roles/describe",
        kind: "RoleReq",
        handler: describe_role,
        summary: "A role's grants",
        fields: &[DB, ROLE],
    },
    Endpoint {
        path: "/roles/create",
        kind: "RoleReq",
        handler: create_role,
        summary: "Create a role",
        fields: &[DB, ROLE, ("description", false, false)],
    },
    Endpoint {
        path: "/roles/alter",
        kind: "RoleReq",
        handler: alter_role,
        summary: "Set a role's description",
        fields: &[DB, ROLE, ("description", false, false)],
    },
    Endpoint {
        path: "/roles/drop",
        kind: "RoleReq",
        handler: drop_role,
        summary: "Drop a role",
        fields: &[DB, ROLE],
    },
    Endpoint {
        path: "/roles/grant_privilege",
        kind: "GrantReq",
        handler: grant_privilege,
        summary: "Grant a privilege (v1)",
        fields: &[
            DB,
            ROLE,
            ("objectType", true, false),
            ("objectName", true, false),
            ("privilege", true, false),
        ],
    },
    Endpoint {
        path: "/roles/revoke_privilege",
        kind: "GrantReq",
        handler: revoke_privilege,
        summary: "Revoke a privilege (v1)",
        fields: &[
            DB,
            ROLE,
            ("objectType", true, false),
            ("objectName", true, false),
            ("privilege", true, false),
        ],
    },
    Endpoint {
        path: "/roles/grant_privilege_v2",
        kind: "GrantV2Req",
        handler: grant_privilege_v2,
        summary: "Grant a privilege or group (v2)",
        fields: &[
            DB,
            ROLE,
            ("privilege", true, false),
            ("collectionName", false, false),
        ],
    },
    Endpoint {
        path: "/roles/revoke_privilege_v2",
        kind: "GrantV2Req",
        handler: revoke_privilege_v2,
        summary: "Revoke a privilege or group (v2)",
        fields: &[
            DB,
            ROLE,
            ("privilege", true, false),
            ("collectionName", false, false),
        ],
    },
    Endpoint {
        path: "/privilege_groups/create",
        kind: "PrivilegeGroupReq",
        handler: create_privilege_group,
        summary: "Create a privilege group",
        fields: &[GROUP],
    },
    Endpoint {
        path: "/privilege_groups/drop",
        kind: "PrivilegeGroupReq",
        handler: drop_privilege_group,
        summary: "Drop a privilege group",
        fields: &[GROUP],
    },
    Endpoint {
        path: "/privilege_groups/list",
        kind: "DatabaseReq",
        handler: list_privilege_groups,
        summary: "List privilege groups",
        fields: &[DB],
    },
    Endpoint {
        path: "/privilege_groups/add_privileges_to_group",
        kind: "PrivilegeGroupReq",
        handler: add_privileges_to_group,
        summary: "Add privileges to a group",
        fields: &[GROUP, ("privileges", false, true)],
    },
    Endpoint {
        path: "/privilege_groups/remove_privileges_from_group",
        kind: "PrivilegeGroupReq",
        handler: remove_privileges_from_group,
        summary: "Remove privileges from a group",
        fields: &[GROUP, ("privileges", false, true)],
    },
];
