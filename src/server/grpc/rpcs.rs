//! What each RPC of Milvus's service means for a registry: its message read into the operations of the table
//! (one, or several for the RPCs that answer what pymilvus asks of several operations), and their replies
//! written into its answer. Errors travel as Milvus sends them: authentication failures as gRPC
//! `UNAUTHENTICATED`, denials as `PERMISSION_DENIED`, everything else as a `common.Status` in an OK answer,
//! with Milvus's code, its legacy `error_code` and its reason.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;

use crate::caller::Caller;
use crate::error::{LegacyCode, RbacError};
use crate::model::{BackupFormat, DEFAULT_DATABASE};
use crate::ops::{args, Reply, Request, Secret};
use crate::profile::ProfileName;
use crate::registry::Registry;
use crate::wire::grpc::pb::common::{ServerInfo, Status};
use crate::wire::grpc::pb::milvus as pb;
use crate::wire::grpc::{
    backup_of, decode_password, grant_entity, meta_of, privilege_entities, role_entity,
    status_place, StatusPlace, CODE_UNIMPLEMENTED,
};

/// Why a call failed.
enum Refusal {
    Registry(RbacError),
    /// The message itself is wrong (an undecodable password, an unknown operation type): Milvus's code, legacy
    /// code and reason.
    Wire {
        code: i32,
        legacy: LegacyCode,
        reason: String,
    },
}

impl From<RbacError> for Refusal {
    fn from(err: RbacError) -> Refusal {
        Refusal::Registry(err)
    }
}

type Outcome<T> = Result<T, Refusal>;

/// An answer message: `common.Status` itself, or a message whose `status` field says how the call went.
trait Answer: Message + Default {
    fn failed(status: Status) -> Self;
}

impl Answer for Status {
    fn failed(status: Status) -> Status {
        status
    }
}

macro_rules! answers_with_status {
    ($($answer:ident),* $(,)?) => {
        $(impl Answer for pb::$answer {
            fn failed(status: Status) -> Self {
                pb::$answer { status: Some(status), ..Default::default() }
            }
        })*
    };
}

answers_with_status!(
    ConnectResponse,
    GetVersionResponse,
    CheckHealthResponse,
    ListDatabasesResponse,
    DescribeDatabaseResponse,
    ListCredUsersResponse,
    SelectRoleResponse,
    SelectUserResponse,
    SelectGrantResponse,
    ListPrivilegeGroupsResponse,
    BackupRbacMetaResponse,
);

/// A success.
fn ok() -> Option<Status> {
    Some(Status::default())
}

fn failure_status(code: i32, legacy: LegacyCode, reason: String) -> Status {
    Status {
        error_code: legacy as i32,
        reason,
        code,
        ..Status::default()
    }
}

/// The gRPC answer of a failed call.
fn refused<A: Answer>(refusal: Refusal) -> Result<Vec<u8>, tonic::Status> {
    let status = match refusal {
        Refusal::Registry(err @ RbacError::Authentication { .. }) => {
            return Err(tonic::Status::unauthenticated(err.to_string()))
        }
        Refusal::Registry(err @ RbacError::PermissionDenied { .. }) => {
            return Err(tonic::Status::permission_denied(err.to_string()))
        }
        Refusal::Registry(err) => {
            failure_status(err.code(), err.compatible_code(), err.to_string())
        }
        Refusal::Wire {
            code,
            legacy,
            reason,
        } => failure_status(code, legacy, reason),
    };
    Ok(A::failed(status).encode_to_vec())
}

/// Decode the request, run `serve`, encode its answer.
fn serve<R: Message + Default, A: Answer>(
    body: &[u8],
    serve: impl FnOnce(R) -> Outcome<A>,
) -> Result<Vec<u8>, tonic::Status> {
    let request = R::decode(body).map_err(|err| {
        tonic::Status::invalid_argument(format!("grpc: error unmarshalling request: {err}"))
    })?;
    match serve(request) {
        Ok(answer) => Ok(answer.encode_to_vec()),
        Err(refusal) => refused::<A>(refusal),
    }
}

/// The version a server of the profile's Milvus line announces.
fn milvus_version(profile: ProfileName) -> &'static str {
    match profile {
        ProfileName::Milvus24 => "v2.4.0",
        ProfileName::Milvus25 => "v2.5.0",
        ProfileName::Milvus26 | ProfileName::Docs => "v2.6.19",
        ProfileName::Milvus30 => "v3.0.1",
    }
}

/// A fresh, non-zero identifier per connection, as Milvus hands out timestamps.
fn connection_identifier() -> i64 {
    static NEXT: AtomicI64 = AtomicI64::new(0);
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |elapsed| elapsed.as_millis() as i64);
    let _ = NEXT.compare_exchange(0, seed, Ordering::Relaxed, Ordering::Relaxed);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// An empty description is none.
fn given(description: Option<String>) -> Option<String> {
    description.filter(|text| !text.is_empty())
}

/// A password from the body (base64), or Milvus's refusal of it for `legacy`'s RPC.
fn password(encoded: &str, legacy: LegacyCode) -> Outcome<Secret> {
    decode_password(encoded)
        .map(Secret::new)
        .ok_or_else(|| Refusal::Wire {
            code: crate::error::CODE_UNEXPECTED,
            legacy,
            reason: "decode password fail: it is not standard base64 of UTF-8 text".into(),
        })
}

fn unknown_type(kind: &str, value: i32, legacy: LegacyCode) -> Refusal {
    Refusal::Wire {
        code: crate::error::CODE_INVALID_PARAMETER,
        legacy,
        reason: format!("invalid {kind} type: {value}"),
    }
}

/// A database named in a message, else the call's.
fn database_or_call(db_name: String, caller: &Caller) -> String {
    if db_name.is_empty() {
        caller.db_name().to_string()
    } else {
        db_name
    }
}

fn timeout() -> Option<f64> {
    None
}

/// One registry and one authenticated caller, answering requests.
struct Session<'r> {
    registry: &'r Registry,
    caller: Caller,
}

impl Session<'_> {
    fn run(&self, request: Request) -> Outcome<Reply> {
        Ok(self.registry.execute(&self.caller, &request)?)
    }

    fn done(&self, request: Request) -> Outcome<Status> {
        self.run(request).map(|_| Status::default())
    }

    fn names(&self, request: Request) -> Outcome<Vec<String>> {
        match self.run(request)? {
            Reply::Names(names) => Ok(names.iter().map(str::to_string).collect()),
            other => Err(unexpected(&other)),
        }
    }

    fn user(&self, user_name: &str) -> Outcome<Option<pb::UserResult>> {
        let request = Request::DescribeUser(args::DescribeUser {
            user_name: user_name.to_string(),
            timeout: timeout(),
        });
        match self.run(request)? {
            Reply::User(user) => Ok(user.map(|user| pb::UserResult {
                user: Some(pb::UserEntity {
                    name: user.name.clone(),
                }),
                roles: user
                    .roles
                    .iter()
                    .map(|role| role_entity(role, ""))
                    .collect(),
                description: user.description.clone(),
            })),
            other => Err(unexpected(&other)),
        }
    }

    fn users(&self) -> Outcome<Vec<String>> {
        self.names(Request::ListUsers(args::ListUsers { timeout: timeout() }))
    }

    fn roles(&self) -> Outcome<Vec<String>> {
        self.names(Request::ListRoles(args::ListRoles { timeout: timeout() }))
    }

    fn role_description(&self, role_name: &str) -> Outcome<String> {
        if !self.registry.profile().descriptions {
            return Ok(String::new());
        }
        match self.run(Request::DescribeRole(args::DescribeRole {
            role_name: role_name.to_string(),
            timeout: timeout(),
            db_name: self.caller.db_name().to_string(),
        }))? {
            Reply::Role(role) => Ok(role.description.clone()),
            other => Err(unexpected(&other)),
        }
    }

    /// The role named `role_name` with its description; `None` if there is none. Its name is checked as
    /// Milvus's proxy checks it.
    fn role(&self, role_name: &str) -> Outcome<Option<(String, String)>> {
        let request = Request::DescribeRole(args::DescribeRole {
            role_name: role_name.to_string(),
            timeout: timeout(),
            db_name: self.caller.db_name().to_string(),
        });
        match self.registry.execute(&self.caller, &request) {
            Ok(Reply::Role(role)) => Ok(Some((role.name.clone(), role.description.clone()))),
            Ok(other) => Err(unexpected(&other)),
            Err(err) if is_missing_role(&err) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    fn select_role(&self, request: pb::SelectRoleRequest) -> Outcome<pb::SelectRoleResponse> {
        // A role entity given (even with an empty name) asks for that role: an unknown one is an empty answer.
        let roles: Vec<(String, String)> = match request.role {
            Some(role) => self.role(&role.name)?.into_iter().collect(),
            None => {
                let mut roles = Vec::new();
                for name in self.roles()? {
                    let description = self.role_description(&name)?;
                    roles.push((name, description));
                }
                roles
            }
        };
        let members = if request.include_user_info && !roles.is_empty() {
            let mut members = Vec::new();
            for user_name in self.users()? {
                if let Some(user) = self.user(&user_name)? {
                    members.push((user_name, user.roles));
                }
            }
            members
        } else {
            Vec::new()
        };
        let results = roles
            .into_iter()
            .map(|(role, description)| pb::RoleResult {
                users: members
                    .iter()
                    .filter(|(_, held)| held.iter().any(|entity| entity.name == role))
                    .map(|(user, _)| pb::UserEntity { name: user.clone() })
                    .collect(),
                role: Some(role_entity(&role, &description)),
            })
            .collect();
        Ok(pb::SelectRoleResponse {
            status: ok(),
            results,
        })
    }

    fn select_user(&self, request: pb::SelectUserRequest) -> Outcome<pb::SelectUserResponse> {
        // A user entity given (even with an empty name) asks for that user.
        let names = match request.user {
            Some(user) => vec![user.name],
            None => self.users()?,
        };
        let mut results = Vec::with_capacity(names.len());
        for name in names {
            // An unknown user is an empty answer, not an error.
            if let Some(mut user) = self.user(&name)? {
                if !request.include_role_info {
                    user.roles.clear();
                }
                results.push(user);
            }
        }
        Ok(pb::SelectUserResponse {
            status: ok(),
            results,
        })
    }

    fn select_grant(&self, request: pb::SelectGrantRequest) -> Outcome<pb::SelectGrantResponse> {
        let entity = request.entity.unwrap_or_default();
        let role_name = entity.role.map(|role| role.name).unwrap_or_default();
        let object_type = entity.object.map(|object| object.name).unwrap_or_default();
        let db_name = database_or_call(entity.db_name, &self.caller);
        let reply = self.run(Request::DescribeRole(args::DescribeRole {
            role_name,
            timeout: timeout(),
            db_name,
        }))?;
        let Reply::Role(role) = reply else {
            return Err(unexpected(&reply));
        };
        let entities = role
            .grants
            .iter()
            .filter(|grant| object_type.is_empty() || grant.object_type == object_type)
            .filter(|grant| {
                entity.object_name.is_empty() || grant.object_name == entity.object_name
            })
            .map(grant_entity)
            .collect();
        Ok(pb::SelectGrantResponse {
            status: ok(),
            entities,
        })
    }

    fn operate_privilege(&self, request: pb::OperatePrivilegeRequest) -> Outcome<Status> {
        let entity = request.entity.unwrap_or_default();
        let role_name = entity.role.map(|role| role.name).unwrap_or_default();
        let object_type = entity.object.map(|object| object.name).unwrap_or_default();
        let privilege = entity
            .grantor
            .and_then(|grantor| grantor.privilege)
            .map(|privilege| privilege.name)
            .unwrap_or_default();
        let db_name = database_or_call(entity.db_name, &self.caller);
        let object_name = entity.object_name;
        self.done(match request.r#type {
            0 => Request::GrantPrivilege(args::GrantPrivilege {
                role_name,
                object_type,
                privilege,
                object_name,
                db_name,
                timeout: timeout(),
            }),
            1 => Request::RevokePrivilege(args::RevokePrivilege {
                role_name,
                object_type,
                privilege,
                object_name,
                db_name,
                timeout: timeout(),
            }),
            other => {
                return Err(unknown_type(
                    "operate privilege",
                    other,
                    LegacyCode::OperatePrivilegeFailure,
                ))
            }
        })
    }

    fn operate_privilege_v2(&self, request: pb::OperatePrivilegeV2Request) -> Outcome<Status> {
        let role_name = request.role.map(|role| role.name).unwrap_or_default();
        let privilege = request
            .grantor
            .and_then(|grantor| grantor.privilege)
            .map(|privilege| privilege.name)
            .unwrap_or_default();
        let db_name = database_or_call(request.db_name, &self.caller);
        let collection_name = request.collection_name;
        self.done(match request.r#type {
            0 => Request::GrantPrivilegeV2(args::GrantPrivilegeV2 {
                role_name,
                privilege,
                collection_name,
                db_name,
                timeout: timeout(),
            }),
            1 => Request::RevokePrivilegeV2(args::RevokePrivilegeV2 {
                role_name,
                privilege,
                collection_name,
                db_name,
                timeout: timeout(),
            }),
            other => {
                return Err(unknown_type(
                    "operate privilege",
                    other,
                    LegacyCode::OperatePrivilegeFailure,
                ))
            }
        })
    }

    fn update_credential(&self, request: pb::UpdateCredentialRequest) -> Outcome<Status> {
        // The SDKs change only a description with empty passwords and the description given.
        if request.old_password.is_empty() && request.new_password.is_empty() {
            if let Some(description) = request.description {
                return self.done(Request::UpdateUser(args::UpdateUser {
                    user_name: request.username,
                    description,
                    timeout: timeout(),
                }));
            }
        }
        let legacy = LegacyCode::UpdateCredentialFailure;
        self.done(Request::UpdatePassword(args::UpdatePassword {
            user_name: request.username,
            old_password: password(&request.old_password, legacy)?,
            new_password: password(&request.new_password, legacy)?,
            reset_connection: false,
            timeout: timeout(),
            description: given(request.description),
        }))
    }

    fn list_privilege_groups(&self) -> Outcome<pb::ListPrivilegeGroupsResponse> {
        let reply = self.run(Request::ListPrivilegeGroups(args::ListPrivilegeGroups {
            timeout: timeout(),
        }))?;
        let Reply::Groups(groups) = reply else {
            return Err(unexpected(&reply));
        };
        Ok(pb::ListPrivilegeGroupsResponse {
            status: ok(),
            privilege_groups: groups
                .iter()
                .map(|group| pb::PrivilegeGroupInfo {
                    group_name: group.name.clone(),
                    privileges: privilege_entities(&group.privileges),
                })
                .collect(),
        })
    }

    fn operate_privilege_group(
        &self,
        request: pb::OperatePrivilegeGroupRequest,
    ) -> Outcome<Status> {
        let group_name = request.group_name;
        let privileges = request
            .privileges
            .into_iter()
            .map(|privilege| privilege.name)
            .collect();
        self.done(match request.r#type {
            0 => Request::AddPrivilegesToGroup(args::AddPrivilegesToGroup {
                group_name,
                privileges,
                timeout: timeout(),
            }),
            1 => Request::RemovePrivilegesFromGroup(args::RemovePrivilegesFromGroup {
                group_name,
                privileges,
                timeout: timeout(),
            }),
            other => {
                return Err(unknown_type(
                    "operate privilege group",
                    other,
                    LegacyCode::OperatePrivilegeGroupFailure,
                ))
            }
        })
    }

    fn backup(&self) -> Outcome<pb::BackupRbacMetaResponse> {
        let reply = self.run(Request::BackupRbac(args::BackupRbac {
            timeout: timeout(),
            format: BackupFormat::Milvus.as_str().to_string(),
        }))?;
        let Reply::Backup(backup, _) = reply else {
            return Err(unexpected(&reply));
        };
        Ok(pb::BackupRbacMetaResponse {
            status: ok(),
            rbac_meta: Some(meta_of(&backup)),
        })
    }

    fn restore(&self, request: pb::RestoreRbacMetaRequest) -> Outcome<Status> {
        self.done(Request::RestoreRbac(args::RestoreRbac {
            meta: backup_of(request.rbac_meta.unwrap_or_default()),
            timeout: timeout(),
        }))
    }
}

/// Whether `err` says that a role does not exist (as itself, or inside Milvus 2.6's "failed to check" prefix).
fn is_missing_role(err: &RbacError) -> bool {
    match err {
        RbacError::RoleNotFound { .. } => true,
        RbacError::Wrapped { source, .. } => is_missing_role(source),
        _ => false,
    }
}

fn unexpected(reply: &Reply) -> Refusal {
    Refusal::Wire {
        code: crate::error::CODE_UNEXPECTED,
        legacy: LegacyCode::UnexpectedError,
        reason: format!("internal error: unexpected reply {reply:?}"),
    }
}

/// The answer of an RPC of Milvus's service that milvus-rbac does not serve: a Milvus status saying so, where
/// Milvus's answer carries one (`None` for a method Milvus does not have).
fn not_served(rpc: &str) -> Option<Vec<u8>> {
    let status = failure_status(
        CODE_UNIMPLEMENTED,
        LegacyCode::UnexpectedError,
        format!("service unimplemented: milvus-rbac serves access control only, not {rpc}"),
    );
    Some(placed(&status, status_place(rpc)?))
}

/// An answer of an RPC that holds only `status`, where the RPC's answer carries it.
fn placed(status: &Status, place: StatusPlace) -> Vec<u8> {
    match place {
        StatusPlace::Whole => status.encode_to_vec(),
        StatusPlace::Field(number) => {
            let mut answer = Vec::new();
            prost::encoding::message::encode(number, status, &mut answer);
            answer
        }
    }
}

/// The answer to one call of `rpc` with `body`, from the caller `authenticated` (or why it is not).
pub(in crate::server) fn answer(
    registry: &Registry,
    rpc: &str,
    authenticated: crate::error::Result<Caller>,
    body: &[u8],
) -> Result<Vec<u8>, tonic::Status> {
    // Milvus authenticates every method first, Connect included.
    let caller = match authenticated {
        Ok(caller) => caller,
        Err(err @ RbacError::Authentication { .. }) => return refused::<Status>(err.into()),
        // Not a verdict on the credentials (too many password checks at once): a Milvus status in the RPC's
        // own answer, as Milvus's rate limiter answers.
        Err(err) => {
            let status = failure_status(err.code(), err.compatible_code(), err.to_string());
            return Ok(placed(
                &status,
                status_place(rpc).unwrap_or(StatusPlace::Whole),
            ));
        }
    };
    let session = Session { registry, caller };
    let version = milvus_version(registry.profile().name);
    match rpc {
        "Connect" => serve(body, |_: pb::ConnectRequest| {
            Ok(pb::ConnectResponse {
                status: ok(),
                server_info: Some(ServerInfo {
                    build_tags: version.to_string(),
                    deploy_mode: "STANDALONE".into(),
                    ..ServerInfo::default()
                }),
                identifier: connection_identifier(),
            })
        }),
        "GetVersion" => serve(body, |_: pb::GetVersionRequest| {
            Ok(pb::GetVersionResponse {
                status: ok(),
                version: version.to_string(),
            })
        }),
        "CheckHealth" => serve(body, |_: pb::CheckHealthRequest| {
            Ok(pb::CheckHealthResponse {
                status: ok(),
                is_healthy: true,
                ..Default::default()
            })
        }),
        "ListDatabases" => serve(body, |_: pb::ListDatabasesRequest| {
            Ok(pb::ListDatabasesResponse {
                status: ok(),
                db_names: vec![DEFAULT_DATABASE.to_string()],
                created_timestamp: vec![0],
                db_ids: vec![1],
            })
        }),
        "DescribeDatabase" => serve(body, |request: pb::DescribeDatabaseRequest| {
            let name = database_or_call(request.db_name, &session.caller);
            if name != DEFAULT_DATABASE {
                return Err(Refusal::Wire {
                    code: 800,
                    legacy: LegacyCode::UnexpectedError,
                    reason: format!("database not found[database={name}]"),
                });
            }
            Ok(pb::DescribeDatabaseResponse {
                status: ok(),
                db_name: name,
                db_id: 1,
                ..Default::default()
            })
        }),
        "CreateCredential" => serve(body, |request: pb::CreateCredentialRequest| {
            session.done(Request::CreateUser(args::CreateUser {
                user_name: request.username,
                password: password(&request.password, LegacyCode::CreateCredentialFailure)?,
                timeout: timeout(),
                description: given(request.description),
            }))
        }),
        "UpdateCredential" => serve(body, |request| session.update_credential(request)),
        "DeleteCredential" => serve(body, |request: pb::DeleteCredentialRequest| {
            session.done(Request::DropUser(args::DropUser {
                user_name: request.username,
                timeout: timeout(),
            }))
        }),
        "ListCredUsers" => serve(body, |_: pb::ListCredUsersRequest| {
            Ok(pb::ListCredUsersResponse {
                status: ok(),
                usernames: session.users()?,
            })
        }),
        "CreateRole" => serve(body, |request: pb::CreateRoleRequest| {
            let entity = request.entity.unwrap_or_default();
            session.done(Request::CreateRole(args::CreateRole {
                role_name: entity.name,
                timeout: timeout(),
                description: given(Some(entity.description)),
            }))
        }),
        "AlterRole" => serve(body, |request: pb::AlterRoleRequest| {
            session.done(Request::AlterRole(args::AlterRole {
                role_name: request.role_name,
                description: request.description,
                timeout: timeout(),
            }))
        }),
        "DropRole" => serve(body, |request: pb::DropRoleRequest| {
            session.done(Request::DropRole(args::DropRole {
                role_name: request.role_name,
                force_drop: request.force_drop,
                timeout: timeout(),
            }))
        }),
        "OperateUserRole" => serve(body, |request: pb::OperateUserRoleRequest| {
            let (user_name, role_name) = (request.username, request.role_name);
            session.done(match request.r#type {
                0 => Request::GrantRole(args::GrantRole {
                    user_name,
                    role_name,
                    timeout: timeout(),
                }),
                1 => Request::RevokeRole(args::RevokeRole {
                    user_name,
                    role_name,
                    timeout: timeout(),
                }),
                other => {
                    return Err(unknown_type(
                        "operate user role",
                        other,
                        LegacyCode::OperateUserRoleFailure,
                    ))
                }
            })
        }),
        "SelectRole" => serve(body, |request| session.select_role(request)),
        "SelectUser" => serve(body, |request| session.select_user(request)),
        "OperatePrivilege" => serve(body, |request| session.operate_privilege(request)),
        "OperatePrivilegeV2" => serve(body, |request| session.operate_privilege_v2(request)),
        "SelectGrant" => serve(body, |request| session.select_grant(request)),
        "CreatePrivilegeGroup" => serve(body, |request: pb::CreatePrivilegeGroupRequest| {
            session.done(Request::CreatePrivilegeGroup(args::CreatePrivilegeGroup {
                group_name: request.group_name,
                timeout: timeout(),
            }))
        }),
        "DropPrivilegeGroup" => serve(body, |request: pb::DropPrivilegeGroupRequest| {
            session.done(Request::DropPrivilegeGroup(args::DropPrivilegeGroup {
                group_name: request.group_name,
                timeout: timeout(),
            }))
        }),
        "ListPrivilegeGroups" => serve(body, |_: pb::ListPrivilegeGroupsRequest| {
            session.list_privilege_groups()
        }),
        "OperatePrivilegeGroup" => serve(body, |request| session.operate_privilege_group(request)),
        "BackupRBAC" => serve(body, |_: pb::BackupRbacMetaRequest| session.backup()),
        "RestoreRBAC" => serve(body, |request| session.restore(request)),
        _ => not_served(rpc).ok_or_else(|| {
            tonic::Status::unimplemented(format!(
                "unknown method {rpc} for service milvus.proto.milvus.MilvusService"
            ))
        }),
    }
}
