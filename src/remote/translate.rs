//! From a [`Request`] to a REST body, and from a REST answer to the [`Reply`] an embedded registry gives, for
//! every operation through its spec.

use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::{Answer, RemoteRegistry};
use crate::caller::Caller;
use crate::error::{RbacError, Result};
use crate::model::{database_or_default, Grant, Group, Names, RoleDescription, UserDescription};
use crate::ops::{args, ArgKind, Executor, OpSpec, Reply, ReplyKind, Request, ValueRef};
use crate::wire::rest::field_of;

/// The JSON body of `spec`'s request with argument `values`.
pub(super) fn body_of(spec: &OpSpec, values: &[ValueRef<'_>]) -> Json {
    let mut body = Map::new();
    for (arg, value) in spec.args.iter().zip(values) {
        let Some(field) = field_of(spec, arg) else {
            continue;
        };
        let json = match (arg.kind, value) {
            // The server would read an empty database as the request's (the `DB-Name` header); the embedded
            // registry reads it as `default`.
            (ArgKind::Database, value) => Json::from(database_or_default(value.text())),
            (ArgKind::Description, ValueRef::OptionalText(text)) => {
                match text.filter(|text| !text.is_empty()) {
                    Some(text) => Json::from(text),
                    None => continue,
                }
            }
            (_, ValueRef::Texts(texts)) => Json::from(texts.to_vec()),
            (_, value) => Json::from(value.text()),
        };
        body.insert(field.name.to_string(), json);
    }
    Json::Object(body)
}

/// The text of the first argument of `kind`.
fn argument(request: &Request, kind: ArgKind) -> &str {
    let values = request.values();
    request
        .spec()
        .args
        .iter()
        .zip(values)
        .find(|(arg, _)| arg.kind == kind)
        .map_or("", |(_, value)| match value {
            ValueRef::Text(text) => text,
            _ => "",
        })
}

fn texts(value: &Json) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn text(value: &Json, key: &str) -> String {
    value
        .get(key)
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The reply an embedded registry gives, from the server's answer to `request`.
pub(super) fn reply_of(
    remote: &RemoteRegistry,
    caller: &Caller,
    request: &Request,
    answer: Answer,
) -> Result<Reply> {
    let data = answer.envelope.get("data").unwrap_or(&Json::Null);
    Ok(match request.spec().returns {
        ReplyKind::Done => Reply::Done,
        ReplyKind::Names => Reply::Names(Arc::new(
            data.as_array()
                .into_iter()
                .flatten()
                .filter_map(Json::as_str)
                .collect::<Names>(),
        )),
        ReplyKind::User => {
            let user_name = argument(request, ArgKind::UserName);
            let roles = texts(data);
            let found = match answer.user_found {
                Some(found) => found,
                // Real Milvus answers [] for a missing user and for a user without roles alike: ask the user
                // list, if the caller may read it. A caller allowed to describe a user but not to list users
                // takes it as existing, as the server's answer (no roles) says.
                None if roles.is_empty() && caller.user() != Some(user_name) => {
                    let list = Request::ListUsers(args::ListUsers { timeout: None });
                    match remote.execute(caller, &list) {
                        Ok(Reply::Names(users)) => users.contains(user_name),
                        Ok(_) | Err(RbacError::RemoteDenied { .. }) => true,
                        Err(err) => return Err(err),
                    }
                }
                None => true,
            };
            Reply::User(found.then(|| {
                Arc::new(UserDescription {
                    name: user_name.to_string(),
                    roles,
                    description: text(&answer.envelope, "description"),
                })
            }))
        }
        ReplyKind::Role => {
            let role_name = argument(request, ArgKind::RoleName);
            let grants = data
                .as_array()
                .into_iter()
                .flatten()
                .map(|item| Grant {
                    role_name: role_name.to_string(),
                    object_type: text(item, "objectType"),
                    db_name: text(item, "dbName"),
                    object_name: text(item, "objectName"),
                    privilege: text(item, "privilege"),
                    grantor: text(item, "grantor"),
                })
                .collect();
            Reply::Role(Arc::new(RoleDescription {
                name: role_name.to_string(),
                description: text(&answer.envelope, "description"),
                grants,
            }))
        }
        ReplyKind::Groups => {
            let groups = data
                .get("privilegeGroups")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .map(|group| Group {
                    name: text(group, "privilegeGroupName"),
                    privileges: text(group, "privileges")
                        .split(',')
                        .filter(|privilege| !privilege.is_empty())
                        .map(str::to_string)
                        .collect(),
                })
                .collect();
            Reply::Groups(Arc::new(groups))
        }
        // No REST path answers these (their operations have no route).
        ReplyKind::Allowed
        | ReplyKind::Explanation
        | ReplyKind::Backup
        | ReplyKind::AuditRecords
        | ReplyKind::AuditCheck => {
            return Err(RbacError::Unsupported {
                message: format!(
                    "{} is not available over Milvus's REST API",
                    request.spec().name
                ),
            })
        }
    })
}
