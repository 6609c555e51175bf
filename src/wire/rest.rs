//! Milvus's RESTful API v2 as a wire format: the Go request structs its handlers bind bodies to, the field
//! that carries each kind of argument, and this project's response headers. The REST server and the REST
//! client both speak it; neither knows the other.

use crate::ops::{ArgKind, ArgSpec, OpSpec};

/// Every path is under this prefix.
pub const PREFIX: &str = "/v2/vectordb";

/// The response header in which our server names its registry's profile, so that a remote client checks
/// what REST cannot carry by the same rules (a real Milvus sends no such header).
pub const PROFILE_HEADER: &str = "milvus-rbac-profile";

/// The response header of `/users/describe` saying whether the user exists (`true` or `false`): Milvus's
/// envelope holds `[]` for a missing user and for a user without roles alike. An extension, beside Milvus's
/// body, which stays as Milvus sends it.
pub const USER_FOUND_HEADER: &str = "milvus-rbac-user-found";

/// The prefix Milvus puts before a denial in its REST envelope.
pub const DENIAL_PREFIX: &str = "rpc error: code = PermissionDenied desc = ";

/// One field of a request struct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The JSON name.
    pub name: &'static str,
    /// `binding:"required"`: absent or empty is refused with 1802.
    pub required: bool,
    /// A list of strings (else a string).
    pub list: bool,
}

const fn text(name: &'static str, required: bool) -> Field {
    Field {
        name,
        required,
        list: false,
    }
}

const DB: Field = text("dbName", false);
const USER: Field = text("userName", true);
const ROLE: Field = text("roleName", true);
const DESCRIPTION: Field = text("description", false);

/// The request structs of Milvus's RBAC handlers (`internal/distributed/proxy/httpserver/request_v2.go`), by
/// Go name, with their fields.
const STRUCTS: &[(&str, &[Field])] = &[
    ("DatabaseReq", &[DB]),
    ("UserReq", &[DB, USER]),
    (
        "PasswordReq",
        &[DB, USER, text("password", true), DESCRIPTION],
    ),
    (
        "NewPasswordReq",
        &[DB, USER, text("password", true), text("newPassword", true)],
    ),
    ("UserRoleReq", &[DB, USER, ROLE]),
    ("RoleReq", &[DB, ROLE, DESCRIPTION]),
    (
        "GrantReq",
        &[
            DB,
            ROLE,
            text("objectType", true),
            text("objectName", true),
            text("privilege", true),
        ],
    ),
    (
        "GrantV2Req",
        &[
            DB,
            ROLE,
            text("privilege", true),
            text("collectionName", false),
        ],
    ),
    (
        "PrivilegeGroupReq",
        &[
            text("privilegeGroupName", true),
            Field {
                name: "privileges",
                required: false,
                list: true,
            },
        ],
    ),
];

/// The fields of the Go struct named `request`.
fn struct_fields(request: &str) -> &'static [Field] {
    STRUCTS
        .iter()
        .find(|(name, _)| *name == request)
        .map_or(&[], |(_, fields)| fields)
}

/// The fields an operation's body is bound to: those of its struct that carry one of its arguments, and
/// the database (which every body may name, for the privilege check). None without a route.
pub fn fields(spec: &OpSpec) -> impl Iterator<Item = Field> + '_ {
    let request = spec.rest.map_or("", |route| route.request);
    struct_fields(request)
        .iter()
        .filter(|field| {
            field.name == DB.name
                || spec
                    .args
                    .iter()
                    .any(|arg| field_name(arg.kind) == Some(field.name))
        })
        .copied()
}

/// The JSON field that carries an argument of `kind`; `None` for what REST does not carry.
pub fn field_name(kind: ArgKind) -> Option<&'static str> {
    Some(match kind {
        ArgKind::UserName | ArgKind::DroppedUser => "userName",
        ArgKind::Password => "password",
        ArgKind::NewPassword => "newPassword",
        ArgKind::Description | ArgKind::NewDescription => "description",
        ArgKind::RoleName => "roleName",
        ArgKind::ObjectType => "objectType",
        ArgKind::ObjectName => "objectName",
        ArgKind::Privilege => "privilege",
        ArgKind::CollectionName => "collectionName",
        ArgKind::Database | ArgKind::GrantDatabase => "dbName",
        ArgKind::GroupName => "privilegeGroupName",
        ArgKind::Privileges => "privileges",
        ArgKind::Flag
        | ArgKind::Reconnect
        | ArgKind::Timeout
        | ArgKind::Backup
        | ArgKind::UserFilter
        | ArgKind::Since
        | ArgKind::BackupFormat => return None,
    })
}

/// The field of `spec`'s body that carries `arg`, if REST carries it for this operation.
pub fn field_of(spec: &OpSpec, arg: &ArgSpec) -> Option<Field> {
    let name = field_name(arg.kind)?;
    fields(spec).find(|field| field.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::OPERATIONS;

    /// Every route names a known struct, and every required field of it is some argument's: nothing is
    /// refused as missing that no operation reads.
    #[test]
    fn routes_and_structs_agree() {
        for spec in OPERATIONS {
            let Some(route) = spec.rest else { continue };
            let fields = struct_fields(route.request);
            assert!(
                !fields.is_empty(),
                "{}: unknown struct {}",
                spec.name,
                route.request
            );
            for field in fields.iter().filter(|field| field.required) {
                assert!(
                    spec.args
                        .iter()
                        .any(|arg| field_name(arg.kind) == Some(field.name)),
                    "{}: required field {} is no argument's",
                    spec.name,
                    field.name
                );
            }
        }
    }
}

#[cfg(test)]
mod bodies {
    use super::*;

    fn names(operation: &str) -> Vec<&'static str> {
        let spec = OpSpec::named(operation).unwrap();
        fields(spec).map(|field| field.name).collect()
    }

    /// A body is bound to what its operation reads: `update_password` carries no description, `drop_role`
    /// no description either, privilege groups no database.
    #[test]
    fn bodies_hold_what_their_operations_read() {
        assert_eq!(
            names("update_password"),
            ["dbName", "userName", "password", "newPassword"]
        );
        assert_eq!(names("drop_role"), ["dbName", "roleName"]);
        assert_eq!(names("create_role"), ["dbName", "roleName", "description"]);
        assert_eq!(names("create_privilege_group"), ["privilegeGroupName"]);
        assert_eq!(
            names("add_privileges_to_group"),
            ["privilegeGroupName", "privileges"]
        );
        assert!(names("backup_rbac").is_empty());
    }
}
