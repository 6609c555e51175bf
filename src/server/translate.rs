//! From a REST body to a [`Request`], and from a [`Reply`] to the envelope's `data`, for every operation of
//! the table through its spec: each argument from the field that carries its kind.

use serde_json::{json, Value as Json};

use super::request::{Body, BodyError};
use crate::ops::{ArgKind, OpSpec, Reply, Request, Secret, Value};
use crate::profile::Profile;
use crate::wire::rest::field_of;

/// What a request answers: the `data` of the envelope, and what goes beside it.
pub struct Answer {
    pub data: Json,
    /// Milvus 2.6.19 puts a described user's or role's description beside the data.
    pub description: Option<String>,
    /// For `/users/describe`: whether the user exists, which the envelope (`[]` either way) does not say.
    pub user_found: Option<bool>,
}

impl From<Json> for Answer {
    fn from(data: Json) -> Answer {
        Answer {
            data,
            description: None,
            user_found: None,
        }
    }
}

/// The request `body` makes of `spec`'s operation. Arguments REST does not carry take their defaults;
/// `request_db` is the database of the request (its `DB-Name` header, else `default`).
pub fn request_of(spec: &OpSpec, body: &Body, request_db: &str) -> Result<Request, BodyError> {
    let mut values = Vec::with_capacity(spec.args.len());
    for arg in spec.args {
        let Some(field) = field_of(spec, arg) else {
            values.push(arg.kind.default_value(arg.default));
            continue;
        };
        let value = match arg.kind {
            ArgKind::Privileges => Value::Texts(body.texts(field.name)?),
            ArgKind::Password | ArgKind::NewPassword => {
                Value::Secret(Secret::new(body.text(field.name)?))
            }
            // An empty description is no description.
            ArgKind::Description => {
                Value::OptionalText(Some(body.text(field.name)?).filter(|text| !text.is_empty()))
            }
            // Milvus reads a grant v1's and describe_role's database from the body, else the request's.
            ArgKind::Database => {
                let db = body.text(field.name)?;
                Value::Text(if db.is_empty() {
                    request_db.to_string()
                } else {
                    db
                })
            }
            _ => Value::Text(body.text(field.name)?),
        };
        values.push(value);
    }
    Request::from_values(spec, values).ok_or_else(|| BodyError {
        code: crate::error::CODE_UNEXPECTED,
        message: format!(
            "internal error: the REST front built no {} request",
            spec.name
        ),
    })
}

/// The envelope's `data` for `reply`, as Milvus's handlers shape it.
pub fn answer(reply: Reply, profile: &Profile) -> Answer {
    match reply {
        Reply::Done => json!({}).into(),
        Reply::Names(names) => Json::from_iter(names.iter()).into(),
        Reply::User(found) => Answer {
            description: found
                .as_ref()
                .filter(|_| profile.descriptions)
                .map(|user| user.description.clone()),
            user_found: Some(found.is_some()),
            data: found.map_or_else(|| json!([]), |user| json!(user.roles)),
        },
        Reply::Role(role) => Answer {
            data: role
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
                .collect(),
            description: profile.descriptions.then(|| role.description.clone()),
            user_found: None,
        },
        Reply::Groups(groups) => {
            let groups: Vec<Json> = groups
                .iter()
                .map(|group| {
                    json!({
                        "privilegeGroupName": group.name,
                        "privileges": group.privileges.join(","),
                    })
                })
                .collect();
            json!({ "privilegeGroups": groups }).into()
        }
        // No REST path answers these (their operations have no route).
        Reply::Allowed(_)
        | Reply::Explanation(_)
        | Reply::Backup(..)
        | Reply::AuditRecords(_)
        | Reply::AuditCheck(_) => Json::Null.into(),
    }
}
