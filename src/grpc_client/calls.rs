//! Each request as the RPC pymilvus 3.0 sends for it, and the answer as the embedded registry's reply.

use std::sync::Arc;

use super::{unsupported, GrpcRegistry};
use crate::caller::Caller;
use crate::error::{RbacError, Result};
use crate::model::{
    is_builtin_role, BackupFormat, BackupRole, BackupUser, Grant, Group, Names, RbacBackup,
    RoleDescription, UserDescription, ANY, ROOT_USER,
};
use crate::ops::{args, Reply, Request, ValueRef};
use crate::password::NO_PASSWORD;
use crate::wire::grpc::pb::common::Status;
use crate::wire::grpc::pb::milvus as pb;
use crate::wire::grpc::{backup_of, grant_of, meta_of, privilege_entities, role_entity};
use prost::Message;

/// The call's own timeout, in seconds.
fn timeout_of(request: &Request) -> Option<f64> {
    request.values().into_iter().find_map(|value| match value {
        ValueRef::Seconds(seconds) => seconds,
        _ => None,
    })
}

/// The grantor entity of a grant request: the privilege only (the server takes the user from the caller).
fn privilege_grantor(privilege: &str) -> Option<pb::GrantorEntity> {
    Some(pb::GrantorEntity {
        user: None,
        privilege: Some(pb::PrivilegeEntity {
            name: privilege.to_string(),
        }),
    })
}

/// A password as the SDKs put it in a body: standard base64 of its UTF-8 text.
fn password(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text.as_bytes())
}

/// Send `request` as pymilvus would, and read the answer as the embedded registry replies.
pub(super) fn execute(remote: &GrpcRegistry, caller: &Caller, request: &Request) -> Result<Reply> {
    let timeout = timeout_of(request);
    let done = |rpc: &'static str, message: Vec<u8>| -> Result<Reply> {
        remote.call_encoded::<Status>(caller, rpc, message, timeout)?;
        Ok(Reply::Done)
    };
    match request {
        Request::CreateUser(args) => done(
            "CreateCredential",
            pb::CreateCredentialRequest {
                username: args.user_name.clone(),
                password: password(args.password.as_str()),
                description: args.description.clone(),
            }
            .encode_to_vec(),
        ),
        Request::UpdatePassword(args) => done(
            "UpdateCredential",
            pb::UpdateCredentialRequest {
                username: args.user_name.clone(),
                old_password: password(args.old_password.as_str()),
                new_password: password(args.new_password.as_str()),
                description: args.description.clone(),
            }
            .encode_to_vec(),
        ),
        Request::UpdateUser(args) => done(
            "UpdateCredential",
            pb::UpdateCredentialRequest {
                username: args.user_name.clone(),
                old_password: String::new(),
                new_password: String::new(),
                description: Some(args.description.clone()),
            }
            .encode_to_vec(),
        ),
        Request::DropUser(args) => done(
            "DeleteCredential",
            pb::DeleteCredentialRequest {
                username: args.user_name.clone(),
            }
            .encode_to_vec(),
        ),
        Request::ListUsers(_) => {
            let answer: pb::ListCredUsersResponse = remote.call(
                caller,
                "ListCredUsers",
                pb::ListCredUsersRequest::default(),
                timeout,
            )?;
            Ok(Reply::Names(Arc::new(answer.usernames.iter().collect())))
        }
        Request::DescribeUser(args) => {
            let answer: pb::SelectUserResponse = remote.call(
                caller,
                "SelectUser",
                pb::SelectUserRequest {
                    user: Some(pb::UserEntity {
                        name: args.user_name.clone(),
                    }),
                    include_role_info: true,
                },
                timeout,
            )?;
            Ok(Reply::User(answer.results.into_iter().next().map(|user| {
                Arc::new(UserDescription {
                    name: user.user.map(|entity| entity.name).unwrap_or_default(),
                    roles: user.roles.into_iter().map(|role| role.name).collect(),
                    description: user.description,
                })
            })))
        }
        Request::CreateRole(args) => done(
            "CreateRole",
            pb::CreateRoleRequest {
                entity: Some(role_entity(
                    &args.role_name,
                    args.description.as_deref().unwrap_or(""),
                )),
            }
            .encode_to_vec(),
        ),
        Request::AlterRole(args) => done(
            "AlterRole",
            pb::AlterRoleRequest {
                role_name: args.role_name.clone(),
                description: args.description.clone(),
            }
            .encode_to_vec(),
        ),
        Request::DropRole(args) => done(
            "DropRole",
            pb::DropRoleRequest {
                role_name: args.role_name.clone(),
                force_drop: args.force_drop,
            }
            .encode_to_vec(),
        ),
        Request::ListRoles(_) => {
            let answer: pb::SelectRoleResponse = remote.call(
                caller,
                "SelectRole",
                pb::SelectRoleRequest::default(),
                timeout,
            )?;
            let names: Names = answer
                .results
                .iter()
                .map(|result| result.role.as_ref().map_or("", |role| role.name.as_str()))
                .collect();
            Ok(Reply::Names(Arc::new(names)))
        }
        Request::GrantRole(args) => done(
            "OperateUserRole",
            pb::OperateUserRoleRequest {
                username: args.user_name.clone(),
                role_name: args.role_name.clone(),
                r#type: 0,
            }
            .encode_to_vec(),
        ),
        Request::RevokeRole(args) => done(
            "OperateUserRole",
            pb::OperateUserRoleRequest {
                username: args.user_name.clone(),
                role_name: args.role_name.clone(),
                r#type: 1,
            }
            .encode_to_vec(),
        ),
        Request::GrantPrivilege(args::GrantPrivilege {
            role_name,
            object_type,
            privilege,
            object_name,
            db_name,
            ..
        })
        | Request::RevokePrivilege(args::RevokePrivilege {
            role_name,
            object_type,
            privilege,
            object_name,
            db_name,
            ..
        }) => {
            let operation = i32::from(matches!(request, Request::RevokePrivilege(_)));
            done(
                "OperatePrivilege",
                pb::OperatePrivilegeRequest {
                    entity: Some(pb::GrantEntity {
                        role: Some(role_entity(role_name, "")),
                        object: Some(pb::ObjectEntity {
                            name: object_type.clone(),
                        }),
                        object_name: object_name.clone(),
                        grantor: privilege_grantor(privilege),
                        db_name: db_name.clone(),
                    }),
                    r#type: operation,
                    version: String::new(),
                }
                .encode_to_vec(),
            )
        }
        Request::GrantPrivilegeV2(args::GrantPrivilegeV2 {
            role_name,
            privilege,
            collection_name,
            db_name,
            ..
        })
        | Request::RevokePrivilegeV2(args::RevokePrivilegeV2 {
            role_name,
            privilege,
            collection_name,
            db_name,
            ..
        }) => {
            let operation = i32::from(matches!(request, Request::RevokePrivilegeV2(_)));
            done(
                "OperatePrivilegeV2",
                pb::OperatePrivilegeV2Request {
                    role: Some(role_entity(role_name, "")),
                    grantor: privilege_grantor(privilege),
                    r#type: operation,
                    db_name: db_name.clone(),
                    collection_name: collection_name.clone(),
                }
                .encode_to_vec(),
            )
        }
        Request::DescribeRole(args) => {
            // pymilvus asks the role (for its description), then its grants; a missing role fails at the second.
            let role: pb::SelectRoleResponse = remote.call(
                caller,
                "SelectRole",
                pb::SelectRoleRequest {
                    role: Some(role_entity(&args.role_name, "")),
                    include_user_info: false,
                },
                timeout,
            )?;
            let grants: pb::SelectGrantResponse = remote.call(
                caller,
                "SelectGrant",
                pb::SelectGrantRequest {
                    entity: Some(pb::GrantEntity {
                        role: Some(role_entity(&args.role_name, "")),
                        db_name: args.db_name.clone(),
                        ..Default::default()
                    }),
                },
                timeout,
            )?;
            let description = role
                .results
                .into_iter()
                .next()
                .and_then(|result| result.role)
                .map(|entity| entity.description)
                .unwrap_or_default();
            Ok(Reply::Role(Arc::new(RoleDescription {
                name: args.role_name.clone(),
                description,
                grants: grants.entities.into_iter().map(grant_of).collect(),
            })))
        }
        Request::CreatePrivilegeGroup(args) => done(
            "CreatePrivilegeGroup",
            pb::CreatePrivilegeGroupRequest {
                group_name: args.group_name.clone(),
            }
            .encode_to_vec(),
        ),
        Request::DropPrivilegeGroup(args) => done(
            "DropPrivilegeGroup",
            pb::DropPrivilegeGroupRequest {
                group_name: args.group_name.clone(),
            }
            .encode_to_vec(),
        ),
        Request::ListPrivilegeGroups(_) => {
            let answer: pb::ListPrivilegeGroupsResponse = remote.call(
                caller,
                "ListPrivilegeGroups",
                pb::ListPrivilegeGroupsRequest::default(),
                timeout,
            )?;
            Ok(Reply::Groups(Arc::new(
                answer
                    .privilege_groups
                    .into_iter()
                    .map(|group| Group {
                        name: group.group_name,
                        privileges: group.privileges.into_iter().map(|p| p.name).collect(),
                    })
                    .collect(),
            )))
        }
        Request::AddPrivilegesToGroup(args::AddPrivilegesToGroup {
            group_name,
            privileges: names,
            ..
        })
        | Request::RemovePrivilegesFromGroup(args::RemovePrivilegesFromGroup {
            group_name,
            privileges: names,
            ..
        }) => {
            let operation = i32::from(matches!(request, Request::RemovePrivilegesFromGroup(_)));
            done(
                "OperatePrivilegeGroup",
                pb::OperatePrivilegeGroupRequest {
                    group_name: group_name.clone(),
                    privileges: privilege_entities(names),
                    r#type: operation,
                }
                .encode_to_vec(),
            )
        }
        Request::BackupRbac(args) => {
            let format = BackupFormat::parse(&args.format)?;
            let backup = match remote.call::<_, pb::BackupRbacMetaResponse>(
                caller,
                "BackupRBAC",
                pb::BackupRbacMetaRequest::default(),
                timeout,
            ) {
                Ok(answer) => backup_of(answer.rbac_meta.unwrap_or_default()),
                // Milvus before 2.4.10 has no BackupRBAC.
                Err(RbacError::Unsupported { .. }) => backup_by_selects(remote, caller, timeout)?,
                Err(err) => return Err(err),
            };
            Ok(Reply::Backup(Box::new(backup), format))
        }
        Request::RestoreRbac(args) => done(
            "RestoreRBAC",
            pb::RestoreRbacMetaRequest {
                rbac_meta: Some(meta_of(&args.meta)),
            }
            .encode_to_vec(),
        ),
        // A server's audit trail is read from its registry (its file or etcd), not through Milvus's protocol.
        Request::CheckPrivilege(_)
        | Request::ExplainPrivilege(_)
        | Request::Audit(_)
        | Request::VerifyAudit(_) => Err(unsupported(request.spec().name)),
    }
}

/// A server's RBAC metadata read as pymilvus users would read it, for a server without BackupRBAC: its users
/// (but root) and their roles, its roles (but admin and public), and their grants in every database and in `*`.
/// Such a server gives no password hashes away: the users come without one (`NO_PASSWORD`).
fn backup_by_selects(
    remote: &GrpcRegistry,
    caller: &Caller,
    timeout: Option<f64>,
) -> Result<RbacBackup> {
    let user_names: pb::ListCredUsersResponse = remote.call(
        caller,
        "ListCredUsers",
        pb::ListCredUsersRequest::default(),
        timeout,
    )?;
    let mut users = Vec::new();
    for name in user_names
        .usernames
        .iter()
        .filter(|name| *name != ROOT_USER)
    {
        let described: pb::SelectUserResponse = remote.call(
            caller,
            "SelectUser",
            pb::SelectUserRequest {
                user: Some(pb::UserEntity { name: name.clone() }),
                include_role_info: true,
            },
            timeout,
        )?;
        let mut roles: Vec<String> = described
            .results
            .into_iter()
            .flat_map(|result| result.roles)
            .map(|role| role.name)
            .collect();
        roles.sort();
        roles.dedup();
        users.push(BackupUser {
            name: name.clone(),
            password_hash: NO_PASSWORD.to_string(),
            description: String::new(),
            roles,
        });
    }
    let all_roles: pb::SelectRoleResponse = remote.call(
        caller,
        "SelectRole",
        pb::SelectRoleRequest::default(),
        timeout,
    )?;
    let roles: Vec<BackupRole> = all_roles
        .results
        .into_iter()
        .filter_map(|result| result.role)
        .filter(|role| !is_builtin_role(&role.name))
        .map(|role| BackupRole {
            name: role.name,
            description: role.description,
        })
        .collect();
    let databases: pb::ListDatabasesResponse = remote.call(
        caller,
        "ListDatabases",
        pb::ListDatabasesRequest::default(),
        timeout,
    )?;
    let mut grants: Vec<Grant> = Vec::new();
    for role in &roles {
        for db_name in databases.db_names.iter().map(String::as_str).chain([ANY]) {
            let answer: pb::SelectGrantResponse = remote.call(
                caller,
                "SelectGrant",
                pb::SelectGrantRequest {
                    entity: Some(pb::GrantEntity {
                        role: Some(role_entity(&role.name, "")),
                        db_name: db_name.to_string(),
                        ..Default::default()
                    }),
                },
                timeout,
            )?;
            grants.extend(answer.entities.into_iter().map(grant_of));
        }
    }
    // A server may answer a database's grants with those of `*` too.
    grants.sort();
    grants.dedup();
    Ok(RbacBackup {
        users,
        roles,
        grants,
        groups: Vec::new(),
    })
}
