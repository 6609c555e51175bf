//! Every failure of the registry, with the code, legacy code and exact message a Milvus server gives.

use std::fmt;

/// Milvus's gRPC methods for users, roles and privileges (`milvus.proto.milvus.MilvusService`). An error's
/// legacy `error_code` depends on the method it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rpc {
    CreateCredential,
    UpdateCredential,
    DeleteCredential,
    ListCredUsers,
    SelectUser,
    CreateRole,
    AlterRole,
    DropRole,
    SelectRole,
    OperateUserRole,
    OperatePrivilege,
    OperatePrivilegeV2,
    SelectGrant,
    CreatePrivilegeGroup,
    DropPrivilegeGroup,
    ListPrivilegeGroups,
    OperatePrivilegeGroup,
    BackupRBAC,
    RestoreRBAC,
}

impl Rpc {
    /// The method's name in Milvus's service.
    pub fn name(self) -> &'static str {
        match self {
            Rpc::CreateCredential => "CreateCredential",
            Rpc::UpdateCredential => "UpdateCredential",
            Rpc::DeleteCredential => "DeleteCredential",
            Rpc::ListCredUsers => "ListCredUsers",
            Rpc::SelectUser => "SelectUser",
            Rpc::CreateRole => "CreateRole",
            Rpc::AlterRole => "AlterRole",
            Rpc::DropRole => "DropRole",
            Rpc::SelectRole => "SelectRole",
            Rpc::OperateUserRole => "OperateUserRole",
            Rpc::OperatePrivilege => "OperatePrivilege",
            Rpc::OperatePrivilegeV2 => "OperatePrivilegeV2",
            Rpc::SelectGrant => "SelectGrant",
            Rpc::CreatePrivilegeGroup => "CreatePrivilegeGroup",
            Rpc::DropPrivilegeGroup => "DropPrivilegeGroup",
            Rpc::ListPrivilegeGroups => "ListPrivilegeGroups",
            Rpc::OperatePrivilegeGroup => "OperatePrivilegeGroup",
            Rpc::BackupRBAC => "BackupRBAC",
            Rpc::RestoreRBAC => "RestoreRBAC",
        }
    }

    /// The legacy code a rootcoord failure of this RPC carries.
    fn failure_code(self) -> LegacyCode {
        match self {
            Rpc::CreateCredential => LegacyCode::CreateCredentialFailure,
            Rpc::UpdateCredential => LegacyCode::UpdateCredentialFailure,
            Rpc::DeleteCredential => LegacyCode::DeleteCredentialFailure,
            Rpc::ListCredUsers => LegacyCode::ListCredUsersFailure,
            Rpc::SelectUser => LegacyCode::SelectUserFailure,
            Rpc::CreateRole => LegacyCode::CreateRoleFailure,
            Rpc::AlterRole | Rpc::BackupRBAC => LegacyCode::UnexpectedError,
            Rpc::DropRole => LegacyCode::DropRoleFailure,
            Rpc::SelectRole => LegacyCode::SelectRoleFailure,
            Rpc::OperateUserRole => LegacyCode::OperateUserRoleFailure,
            Rpc::OperatePrivilege | Rpc::OperatePrivilegeV2 | Rpc::RestoreRBAC => {
                LegacyCode::OperatePrivilegeFailure
            }
            Rpc::SelectGrant => LegacyCode::SelectGrantFailure,
            Rpc::CreatePrivilegeGroup => LegacyCode::CreatePrivilegeGroupFailure,
            Rpc::DropPrivilegeGroup => LegacyCode::DropPrivilegeGroupFailure,
            Rpc::ListPrivilegeGroups => LegacyCode::ListPrivilegeGroupsFailure,
            Rpc::OperatePrivilegeGroup => LegacyCode::OperatePrivilegeGroupFailure,
        }
    }

    /// The legacy code Milvus pairs with a failure of this RPC reported with `code`, as [`RbacError::compatible_code`]
    /// gives it for the embedded registry: `by_proxy` tells a failure of the proxy (its validators, its hashing)
    /// from one of the coordinator, which alone reports the RPC's failure code.
    pub fn legacy_code(self, code: i32, by_proxy: bool) -> LegacyCode {
        match code {
            CODE_INVALID_PARAMETER if by_proxy => LegacyCode::IllegalArgument,
            CODE_INVALID_PARAMETER | CODE_UNEXPECTED if !by_proxy => self.failure_code(),
            _ => LegacyCode::UnexpectedError,
        }
    }
}

/// Defines [`LegacyCode`] and the list of its names and values, from one list.
macro_rules! legacy_codes {
    ($($name:ident = $value:literal,)*) => {
        /// Milvus's deprecated `commonpb.ErrorCode`, still reported by pymilvus as `compatible_code`: the values
        /// milvus-rbac reports.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(i32)]
        pub enum LegacyCode {
            $($name = $value,)*
        }

        impl LegacyCode {
            /// Every code, by name (Python's `LegacyErrorCode` is made from it).
            pub const ALL: &'static [(&'static str, i32)] = &[$((stringify!($name), $value),)*];

            /// The code of `value`, as a server's `Status.error_code` carries it; `None` for one not listed.
            pub fn from_value(value: i32) -> Option<LegacyCode> {
                match value {
                    $($value => Some(LegacyCode::$name),)*
                    _ => None,
                }
            }
        }
    };
}

legacy_codes! {
    UnexpectedError = 1,
    ConnectFailed = 2,
    PermissionDenied = 3,
    IllegalArgument = 5,
    CreateCredentialFailure = 29,
    UpdateCredentialFailure = 30,
    DeleteCredentialFailure = 31,
    ListCredUsersFailure = 33,
    CreateRoleFailure = 35,
    DropRoleFailure = 36,
    OperateUserRoleFailure = 37,
    SelectRoleFailure = 38,
    SelectUserFailure = 39,
    OperatePrivilegeFailure = 41,
    SelectGrantFailure = 42,
    CreatePrivilegeGroupFailure = 58,
    DropPrivilegeGroupFailure = 59,
    ListPrivilegeGroupsFailure = 60,
    OperatePrivilegeGroupFailure = 61,
    RateLimit = 49,
}

/// Why authentication failed, worded as Milvus's authentication interceptor words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No credentials were given.
    MissingAuthorization,
    /// Unknown user or wrong password.
    BadCredentials,
    /// A token without a colon: Milvus takes it for an API key, which a registry never has.
    BadApiKey,
}

impl fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthFailure::MissingAuthorization => "missing authorization in header",
            AuthFailure::BadCredentials => {
                "auth check failure, please check username and password are correct"
            }
            AuthFailure::BadApiKey => "auth check failure, please check api key is correct",
        })
    }
}

/// Which Python exception class an error becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// `ParamError`: a wrong argument or setting, found before any rule ran.
    Param,
    /// `AuthenticationError`.
    Authentication,
    /// `PermissionDeniedError`.
    PermissionDenied,
    /// Any other `MilvusException`.
    Milvus,
}

/// A failed registry operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RbacError {
    /// The caller lacks the privilege (Milvus 2.5+ names the database the check ran in).
    #[error("Privilege{privilege}: permission deny to {user}{}", database.as_ref().map(|db| format!(" in the `{db}` database")).unwrap_or_default())]
    PermissionDenied {
        privilege: String,
        user: String,
        database: Option<String>,
    },
    /// A validator or a rule rejected a parameter (Milvus code 1100). The message is complete; `legacy` is
    /// `IllegalArgument` from validators, the RPC's failure code from the coordinator.
    #[error("{message}")]
    InvalidParameter { message: String, legacy: LegacyCode },
    /// A database name failed Milvus's `ValidateDatabaseName` (code 802).
    #[error("{message}")]
    InvalidDatabaseName { message: String },
    /// A privilege group name failed Milvus's `ValidatePrivilegeGroupName` (code 1402).
    #[error("{message}")]
    InvalidGroupName { message: String },
    /// The old password given to `update_password` is wrong, or the user does not exist.
    #[error("old password not correct for {user}: not authenticated")]
    OldPasswordIncorrect { user: String },
    /// A built-in user or role cannot be changed this way.
    #[error("{what}: privilege not permitted")]
    NotPermitted { what: String },
    #[error("user already exists: {user}")]
    UserExists { user: String },
    #[error("unable to add user because the number of users has reached the limit")]
    UserLimit,
    /// Milvus prints the protobuf text of the role entity.
    #[error("role [name:\"{role}\"] already exists")]
    RoleExists { role: String },
    #[error("unable to create role because the number of roles has reached the limit")]
    RoleLimit,
    #[error("not found the role, maybe the role isn't existed or internal system error")]
    RoleNotFound { rpc: Rpc },
    #[error("not found the user, maybe the user isn't existed or internal system error")]
    UserNotFound { rpc: Rpc },
    /// Milvus 2.6.19's AlterRole on a missing role.
    #[error("role not exists")]
    RoleNotExists,
    /// `update_password` or `update_user` on a missing user, where the profile reports it.
    #[error("user not found")]
    UpdatedUserNotFound,
    /// Milvus 2.4 validates up to 256 bytes but bcrypt refuses more than 72.
    #[error("encrypt password failed: bcrypt: password length exceeds 72 bytes")]
    PasswordTooLongToHash,
    /// `drop_user("")`, as a real server answers it.
    #[error("fail to execute task when deleting the user")]
    DropEmptyUser,
    /// Milvus 2.6 prefixes the failures of the checks its coordinator runs before a change.
    #[error("{context}: {source}")]
    Wrapped {
        context: &'static str,
        source: Box<RbacError>,
    },
    /// Milvus 2.4 lists the object types it supports.
    #[error("not found the object type[name: {name}], supported the object types: [Collection Global User]")]
    ObjectTypeNotFound { name: String },
    /// Milvus 2.5+ no longer lists them.
    #[error("the object entity in the request is nil or invalid")]
    ObjectTypeInvalid,
    /// Not a privilege of the object type (2.5+ names the type).
    #[error("not found the privilege name[{privilege}]{}", object_type.map(|t| format!(" in object[{t}]")).unwrap_or_default())]
    PrivilegeNotFound {
        privilege: String,
        object_type: Option<crate::catalog::ObjectType>,
    },
    /// Groups are granted with grant v2 only.
    #[error("can not operate the {} privilege group [{group}]", if *builtin { "built-in" } else { "custom" })]
    GroupNeedsGrantV2 { group: String, builtin: bool },
    /// A grant needs a grantor, and with authorization disabled nobody may have connected.
    #[error("fail to get authorization from the md, authorization:[token]")]
    NoGrantor,
    #[error("fail to drop the role that it has privileges. Use REVOKE API to revoke privileges")]
    RoleHasGrants,
    #[error(
        "privilege group [{group}] is used by role [{role}], Use REVOKE API to revoke it first"
    )]
    GroupInUse { group: String, role: String },
    /// A group's privileges must be of one level (Milvus 2.5 wording; 2.6 reports it as a parameter error).
    #[error("privileges are not the same privilege level")]
    MixedLevels,
    /// A custom group whose privileges have no level cannot be granted.
    #[error("not found the privilege level")]
    LevelNotFound,
    /// `restore_rbac` met something that already exists or is missing.
    #[error("{message}")]
    RestoreConflict { message: String },
    #[error("{reason}")]
    Authentication { reason: AuthFailure },
    /// A server's error, as its REST envelope reported it. REST carries no legacy code: the remote client
    /// derives it with [`Rpc::legacy_code`].
    #[error("{message}")]
    Remote {
        code: i32,
        message: String,
        legacy: LegacyCode,
    },
    /// A server's permission denial.
    #[error("{message}")]
    RemoteDenied { message: String },
    /// The profile's Milvus version has no such call.
    #[error("{message}")]
    Unsupported { message: String },
    /// A wrong argument or setting, reported as pymilvus reports client-side checks (code 1).
    #[error("{message}")]
    Param { message: String },
    /// Too much expensive work at once (password checks), as Milvus's rate limiter refuses: code 8.
    #[error("{message}")]
    RateLimited { message: String },
    /// The registry file could not be opened, read or written.
    #[error("{message}")]
    Storage { message: String },
}

/// Milvus's `ErrParameterInvalid`.
pub const CODE_INVALID_PARAMETER: i32 = 1100;
/// Milvus's `ErrServiceRateLimit`.
pub const CODE_RATE_LIMIT: i32 = 8;
/// Milvus's catch-all code for coordinator failures.
pub const CODE_UNEXPECTED: i32 = 65535;

impl RbacError {
    /// The numeric `code` Milvus reports.
    pub fn code(&self) -> i32 {
        match self {
            RbacError::InvalidParameter { .. } => CODE_INVALID_PARAMETER,
            RbacError::InvalidGroupName { .. } => 1402,
            RbacError::InvalidDatabaseName { .. } => 802,
            RbacError::OldPasswordIncorrect { .. } => 1400,
            RbacError::NotPermitted { .. } => 1401,
            RbacError::Wrapped { source, .. } => source.code(),
            // pymilvus reports a failed connection with code 2.
            RbacError::Authentication { .. } => 2,
            RbacError::Param { .. } => 1,
            RbacError::RateLimited { .. } => CODE_RATE_LIMIT,
            RbacError::Remote { code, .. } => *code,
            _ => CODE_UNEXPECTED,
        }
    }

    /// The legacy `error_code` pymilvus exposes as `compatible_code`.
    pub fn compatible_code(&self) -> LegacyCode {
        match self {
            RbacError::InvalidParameter { legacy, .. } => *legacy,
            RbacError::UserExists { .. } | RbacError::UserLimit => {
                LegacyCode::CreateCredentialFailure
            }
            RbacError::RoleExists { .. } | RbacError::RoleLimit => LegacyCode::CreateRoleFailure,
            RbacError::RoleNotFound { rpc } | RbacError::UserNotFound { rpc } => rpc.failure_code(),
            RbacError::UpdatedUserNotFound => LegacyCode::UpdateCredentialFailure,
            RbacError::DropEmptyUser => LegacyCode::DeleteCredentialFailure,
            RbacError::Wrapped { source, .. } => source.compatible_code(),
            RbacError::ObjectTypeNotFound { .. }
            | RbacError::ObjectTypeInvalid
            | RbacError::PrivilegeNotFound { .. }
            | RbacError::GroupNeedsGrantV2 { .. }
            | RbacError::LevelNotFound
            | RbacError::RestoreConflict { .. } => LegacyCode::OperatePrivilegeFailure,
            RbacError::RoleHasGrants => LegacyCode::DropRoleFailure,
            RbacError::GroupInUse { .. } => LegacyCode::DropPrivilegeGroupFailure,
            RbacError::MixedLevels => LegacyCode::OperatePrivilegeGroupFailure,
            RbacError::Authentication { .. } => LegacyCode::ConnectFailed,
            RbacError::PermissionDenied { .. } | RbacError::RemoteDenied { .. } => {
                LegacyCode::PermissionDenied
            }
            RbacError::Remote { legacy, .. } => *legacy,
            RbacError::RateLimited { .. } => LegacyCode::RateLimit,
            _ => LegacyCode::UnexpectedError,
        }
    }

    /// Which Python exception class the error maps to.
    pub fn kind(&self) -> ErrorKind {
        match self {
            RbacError::Param { .. } => ErrorKind::Param,
            RbacError::Authentication { .. } => ErrorKind::Authentication,
            RbacError::PermissionDenied { .. } | RbacError::RemoteDenied { .. } => {
                ErrorKind::PermissionDenied
            }
            _ => ErrorKind::Milvus,
        }
    }

    /// A validator's error.
    pub(crate) fn invalid(message: impl Into<String>) -> RbacError {
        RbacError::InvalidParameter {
            message: message.into(),
            legacy: LegacyCode::IllegalArgument,
        }
    }

    /// A coordinator's parameter error, reported with the RPC's legacy failure code.
    pub(crate) fn invalid_in(rpc: Rpc, message: impl Into<String>) -> RbacError {
        RbacError::InvalidParameter {
            message: message.into(),
            legacy: rpc.failure_code(),
        }
    }

    pub(crate) fn storage(context: &str, err: impl fmt::Display) -> RbacError {
        RbacError::Storage {
            message: format!("{context}: {err}"),
        }
    }
}

/// The result of every registry operation.
pub type Result<T> = std::result::Result<T, RbacError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_messages_match_milvus() {
        let err = RbacError::RoleExists { role: "r1".into() };
        assert_eq!(err.to_string(), "role [name:\"r1\"] already exists");
        assert_eq!(err.code(), 65535);
        assert_eq!(err.compatible_code(), LegacyCode::CreateRoleFailure);

        let err = RbacError::Wrapped {
            context: "failed to check if add credential",
            source: Box::new(RbacError::UserLimit),
        };
        assert_eq!(
            err.to_string(),
            "failed to check if add credential: unable to add user because the number of users has reached the limit"
        );
        assert_eq!(err.compatible_code(), LegacyCode::CreateCredentialFailure);

        let err = RbacError::NotPermitted {
            what: "root user cannot be deleted".into(),
        };
        assert_eq!(
            err.to_string(),
            "root user cannot be deleted: privilege not permitted"
        );
        assert_eq!(err.code(), 1401);
    }

    #[test]
    fn legacy_codes_of_remote_errors_follow_the_embedded_ones() {
        let rpc = Rpc::CreatePrivilegeGroup;
        assert_eq!(rpc.legacy_code(1100, true), LegacyCode::IllegalArgument);
        assert_eq!(
            rpc.legacy_code(1100, false),
            RbacError::invalid_in(rpc, "x").compatible_code()
        );
        assert_eq!(
            Rpc::CreateCredential.legacy_code(65535, false),
            RbacError::UserLimit.compatible_code()
        );
        assert_eq!(
            Rpc::CreateCredential.legacy_code(65535, true),
            RbacError::PasswordTooLongToHash.compatible_code()
        );
        assert_eq!(
            Rpc::UpdateCredential.legacy_code(1400, false),
            LegacyCode::UnexpectedError
        );
    }
}
