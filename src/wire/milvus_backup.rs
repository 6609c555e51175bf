//! Milvus's own RBAC backup, as `BackupRBAC` answers it (the `RBACMeta` message, protobuf bytes) and as
//! milvus-backup writes it (`rbac_meta` of its `backup_meta.json`: Go's JSON of the message, snake_case names,
//! empty fields left out; protobuf's JSON mapping, with camelCase names, is read too).
//!
//! Users carry their password hashes as Milvus stores them (bcrypt), roles their names, grants their role,
//! object type, object, database, privilege and grantor, groups their privileges.

use prost::Message;
use serde_json::{json, Map, Value as Json};

use super::grpc::{backup_of, pb};
use crate::error::{RbacError, Result};
use crate::model::{BackupRole, BackupUser, Grant, Group, RbacBackup};

fn malformed(what: impl std::fmt::Display) -> RbacError {
    RbacError::Param {
        message: format!("invalid Milvus RBAC backup: {what}"),
    }
}

/// `RBACMeta` protobuf bytes as a backup.
pub fn from_protobuf(bytes: &[u8]) -> Result<RbacBackup> {
    pb::milvus::RbacMeta::decode(bytes)
        .map(backup_of)
        .map_err(|err| malformed(format!("not an RBACMeta message ({err})")))
}

/// The field `snake` (or its camelCase spelling) of `object`.
fn field<'j>(object: &'j Map<String, Json>, snake: &str) -> Option<&'j Json> {
    object.get(snake).or_else(|| {
        let mut camel = String::with_capacity(snake.len());
        let mut upper = false;
        for ch in snake.chars() {
            match ch {
                '_' => upper = true,
                _ if upper => {
                    camel.extend(ch.to_uppercase());
                    upper = false;
                }
                _ => camel.push(ch),
            }
        }
        object.get(&camel)
    })
}

/// A text field; absent is empty (Go leaves empty fields out).
fn text(object: &Map<String, Json>, name: &str, of: &str) -> Result<String> {
    match field(object, name) {
        None | Some(Json::Null) => Ok(String::new()),
        Some(Json::String(text)) => Ok(text.clone()),
        Some(other) => Err(malformed(format!("{of}'s `{name}` is {other}, not a text"))),
    }
}

/// The objects of a list field; absent is empty.
fn objects<'j>(
    object: &'j Map<String, Json>,
    name: &str,
    of: &str,
) -> Result<Vec<&'j Map<String, Json>>> {
    match field(object, name) {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_object()
                    .ok_or_else(|| malformed(format!("an item of {of}'s `{name}` is {item}")))
            })
            .collect(),
        Some(other) => Err(malformed(format!("{of}'s `{name}` is {other}, not a list"))),
    }
}

/// The name inside an entity field (`{"name": ...}`).
fn entity_name(object: &Map<String, Json>, name: &str, of: &str) -> Result<String> {
    match field(object, name) {
        None | Some(Json::Null) => Ok(String::new()),
        Some(Json::Object(entity)) => text(entity, "name", of),
        Some(other) => Err(malformed(format!(
            "{of}'s `{name}` is {other}, not an entity"
        ))),
    }
}

/// Milvus's RBAC backup in JSON: the `RBACMeta` itself, or a milvus-backup `backup_meta.json` holding it under
/// `rbac_meta`.
pub fn from_json(text_json: &str) -> Result<RbacBackup> {
    let parsed: Json = serde_json::from_str(text_json).map_err(malformed)?;
    let top = parsed
        .as_object()
        .ok_or_else(|| malformed("not a JSON object"))?;
    let meta = match field(top, "rbac_meta") {
        Some(Json::Object(meta)) => meta,
        Some(other) => return Err(malformed(format!("`rbac_meta` is {other}"))),
        None => top,
    };
    let users = objects(meta, "users", "the backup")?
        .into_iter()
        .map(|user| {
            Ok(BackupUser {
                name: text(user, "user", "a user")?,
                password_hash: text(user, "password", "a user")?,
                description: String::new(),
                roles: objects(user, "roles", "a user")?
                    .into_iter()
                    .map(|role| text(role, "name", "a user's role"))
                    .collect::<Result<_>>()?,
            })
        })
        .collect::<Result<_>>()?;
    let roles = objects(meta, "roles", "the backup")?
        .into_iter()
        .map(|role| {
            Ok(BackupRole {
                name: text(role, "name", "a role")?,
                description: text(role, "description", "a role")?,
            })
        })
        .collect::<Result<_>>()?;
    let grants = objects(meta, "grants", "the backup")?
        .into_iter()
        .map(|grant| {
            let grantor = match field(grant, "grantor") {
                Some(Json::Object(grantor)) => Some(grantor),
                None | Some(Json::Null) => None,
                Some(other) => return Err(malformed(format!("a grant's grantor is {other}"))),
            };
            let of_grantor =
                |name| grantor.map_or(Ok(String::new()), |g| entity_name(g, name, "a grantor"));
            Ok(Grant {
                role_name: entity_name(grant, "role", "a grant")?,
                object_type: entity_name(grant, "object", "a grant")?,
                db_name: text(grant, "db_name", "a grant")?,
                object_name: text(grant, "object_name", "a grant")?,
                privilege: of_grantor("privilege")?,
                grantor: of_grantor("user")?,
            })
        })
        .collect::<Result<_>>()?;
    let groups = objects(meta, "privilege_groups", "the backup")?
        .into_iter()
        .map(|group| {
            Ok(Group {
                name: text(group, "group_name", "a privilege group")?,
                privileges: objects(group, "privileges", "a privilege group")?
                    .into_iter()
                    .map(|privilege| text(privilege, "name", "a privilege"))
                    .collect::<Result<_>>()?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(RbacBackup {
        users,
        roles,
        grants,
        groups,
    })
}

/// `{"name": name}`, as Milvus's entities are written.
fn entity(name: &str) -> Json {
    json!({ "name": name })
}

/// `object` without the fields Go would leave out (empty texts and lists).
fn go_fields(pairs: Vec<(&str, Json)>) -> Json {
    let kept = pairs.into_iter().filter(|(_, value)| match value {
        Json::String(text) => !text.is_empty(),
        Json::Array(items) => !items.is_empty(),
        _ => true,
    });
    Json::Object(
        kept.map(|(name, value)| (name.to_string(), value))
            .collect(),
    )
}

/// A backup as milvus-backup writes Milvus's `RBACMeta` (`rbac_meta` of `backup_meta.json`). User and role
/// descriptions have no place in it.
pub fn to_json(backup: &RbacBackup) -> Json {
    let users = backup.users.iter().map(|user| {
        go_fields(vec![
            ("user", json!(user.name)),
            ("password", json!(user.password_hash)),
            (
                "roles",
                Json::Array(user.roles.iter().map(|role| entity(role)).collect()),
            ),
        ])
    });
    let grants = backup.grants.iter().map(|grant| {
        go_fields(vec![
            ("role", entity(&grant.role_name)),
            ("object", entity(&grant.object_type)),
            ("object_name", json!(grant.object_name)),
            (
                "grantor",
                json!({ "user": entity(&grant.grantor), "privilege": entity(&grant.privilege) }),
            ),
            ("db_name", json!(grant.db_name)),
        ])
    });
    let groups = backup.groups.iter().map(|group| {
        go_fields(vec![
            ("group_name", json!(group.name)),
            (
                "privileges",
                Json::Array(group.privileges.iter().map(|p| entity(p)).collect()),
            ),
        ])
    });
    go_fields(vec![
        ("users", Json::Array(users.collect())),
        (
            "roles",
            Json::Array(backup.roles.iter().map(|role| entity(&role.name)).collect()),
        ),
        ("grants", Json::Array(grants.collect())),
        ("privilege_groups", Json::Array(groups.collect())),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::grpc::meta_of;

    fn to_protobuf(backup: &RbacBackup) -> Vec<u8> {
        meta_of(backup).encode_to_vec()
    }

    fn sample() -> RbacBackup {
        RbacBackup {
            users: vec![BackupUser {
                name: "user_1".into(),
                password_hash: "$2a$10$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234"
                    .into(),
                description: String::new(),
                roles: vec!["reader".into()],
            }],
            roles: vec![BackupRole {
                name: "reader".into(),
                description: String::new(),
            }],
            grants: vec![Grant {
                role_name: "reader".into(),
                object_type: "Collection".into(),
                db_name: "default".into(),
                object_name: "books".into(),
                privilege: "Search".into(),
                grantor: "root".into(),
            }],
            groups: vec![Group {
                name: "readers".into(),
                privileges: vec!["Query".into(), "Search".into()],
            }],
        }
    }

    #[test]
    fn both_forms_round_trip() {
        let backup = sample();
        assert_eq!(from_protobuf(&to_protobuf(&backup)).unwrap(), backup);
        let written = to_json(&backup);
        assert_eq!(from_json(&written.to_string()).unwrap(), backup);
        // Go's names, and the whole backup_meta.json around it.
        assert_eq!(written["privilege_groups"][0]["group_name"], "readers");
        assert_eq!(
            written["grants"][0]["grantor"]["privilege"]["name"],
            "Search"
        );
        let around = json!({ "id": "x", "rbac_meta": written }).to_string();
        assert_eq!(from_json(&around).unwrap(), backup);
    }

    #[test]
    fn protobuf_json_names_and_left_out_fields_are_read() {
        let camel = r#"{"users":[{"user":"u"}],"roles":[{"name":"r"}],
            "grants":[{"role":{"name":"r"},"object":{"name":"Global"},"objectName":"*","dbName":"db1",
                       "grantor":{"privilege":{"name":"All"}}}],
            "privilegeGroups":[{"groupName":"g"}]}"#;
        let backup = from_json(camel).unwrap();
        assert_eq!(backup.users[0].password_hash, "");
        assert_eq!(backup.grants[0].db_name, "db1");
        assert_eq!(backup.grants[0].grantor, "");
        assert_eq!(backup.groups[0].name, "g");
    }

    #[test]
    fn malformed_backups_say_what_is_wrong() {
        for (text, words) in [
            ("[]", "not a JSON object"),
            (r#"{"users": 3}"#, "`users` is 3"),
            (r#"{"users": [{"user": 5}]}"#, "`user` is 5"),
            (r#"{"grants": [{"role": "r"}]}"#, "not an entity"),
            ("{", "invalid Milvus RBAC backup"),
        ] {
            let err = from_json(text).unwrap_err().to_string();
            assert!(err.contains(words), "{text}: {err}");
        }
        assert!(from_protobuf(&[0xff, 0xff])
            .unwrap_err()
            .to_string()
            .contains("not an RBACMeta"));
    }
}
