//! A registry on a server, reached through Milvus's REST API v2 (this project's server or a real Milvus 2.4+).
//! Answers and errors are mapped back to the values and errors an embedded registry gives.

use std::time::Duration;

use base64::Engine;
use serde_json::{json, Map, Value};
use ureq::Agent;

use crate::backend::Backend;
use crate::catalog::Group;
use crate::error::{AuthFailure, RbacError, Result};
use crate::registry::{
    Caller, Credentials, Explanation, GroupChange, Operation, RbacBackup, RoleDescription,
    UserDescription, DEFAULT_DATABASE,
};
use crate::store::{Grant, Names};

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The prefix Milvus puts before a denial in its REST envelope.
const DENIAL_PREFIX: &str = "rpc error: code = PermissionDenied desc = ";

/// A registry served over HTTP.
pub struct RemoteRegistry {
    base: String,
    /// `base` without any `user:password@`, for messages and reprs.
    shown: String,
    agent: Agent,
}

/// A URI as it may be shown: credentials in it (`http://user:password@host`) are dropped. Paths without a
/// scheme (registry files) are returned as they are.
pub fn without_userinfo(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return uri.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}{path}")
}

fn unsupported(what: &str) -> RbacError {
    RbacError::Unsupported {
        message: format!("{what} is not available over Milvus's REST API"),
    }
}

fn texts(value: &Value) -> Vec<String> {
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

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn or_default(db_name: &str) -> &str {
    if db_name.is_empty() {
        DEFAULT_DATABASE
    } else {
        db_name
    }
}

impl RemoteRegistry {
    /// Connect to the server at `uri` and check the credentials, as pymilvus does when it connects.
    pub fn connect(
        uri: &str,
        credentials: &Credentials,
        db_name: &str,
    ) -> Result<(RemoteRegistry, Caller)> {
        if matches!(credentials, Credentials::ApiKey) {
            return Err(RbacError::Authentication {
                reason: AuthFailure::BadApiKey,
            });
        }
        let agent: Agent = Agent::config_builder()
            .timeout_global(Some(REQUEST_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        let remote = RemoteRegistry {
            base: uri.trim_end_matches('/').to_string(),
            shown: without_userinfo(uri.trim_end_matches('/')),
            agent,
        };
        let caller = Caller::remote(credentials, db_name);
        // A request every authenticated user may make: describing oneself (or listing roles, anonymously).
        match caller.user() {
            Some(user) => remote.post(&caller, "/users/describe", json!({ "userName": user }))?,
            None => remote.post(&caller, "/roles/list", json!({}))?,
        };
        Ok((remote, caller))
    }

    /// The `data` of a successful answer.
    fn post(&self, caller: &Caller, path: &str, body: Value) -> Result<Value> {
        let mut envelope = self.exchange(caller, path, body)?;
        Ok(envelope
            .get_mut("data")
            .map(Value::take)
            .unwrap_or(Value::Null))
    }

    /// The whole envelope of a successful answer, errors mapped to the embedded registry's.
    fn exchange(&self, caller: &Caller, path: &str, body: Value) -> Result<Value> {
        let url = format!("{}/v2/vectordb{path}", self.base);
        let mut request = self.agent.post(&url).header("DB-Name", caller.db_name());
        // HTTP Basic carries any password (a Bearer header takes visible ASCII only); Milvus accepts both.
        if let Some(token) = caller.token() {
            let encoded = base64::engine::general_purpose::STANDARD.encode(token.as_bytes());
            request = request.header("Authorization", format!("Basic {encoded}"));
        }
        let unreachable = |err: ureq::Error| {
            let err = err.to_string().replace(&self.base, &self.shown);
            RbacError::Remote {
            code: 2,
            message: format!(
                "Fail connecting to server on {}, illegal connection params or server unavailable: {err}",
                self.shown
            ),
        }
        };
        let mut response = request.send_json(&body).map_err(unreachable)?;
        let status = response.status().as_u16();
        let envelope: Value = response
            .body_mut()
            .read_json()
            .unwrap_or_else(|_| json!({}));
        let code = envelope.get("code").and_then(Value::as_i64).unwrap_or(-1);
        let message = text(&envelope, "message");
        match status {
            401 => Err(RbacError::Authentication {
                reason: if caller.user().is_some() {
                    AuthFailure::BadCredentials
                } else {
                    AuthFailure::MissingAuthorization
                },
            }),
            403 => Err(RbacError::RemoteDenied {
                message: message
                    .strip_prefix(DENIAL_PREFIX)
                    .unwrap_or(&message)
                    .to_string(),
            }),
            200 if code == 0 => Ok(envelope),
            200 => Err(RbacError::Remote {
                code: i32::try_from(code).unwrap_or(65535),
                message,
            }),
            _ => Err(RbacError::Remote {
                code: 65535,
                message: format!("{}{path} answered HTTP {status}: {message}", self.shown),
            }),
        }
    }

    fn call(&self, caller: &Caller, path: &str, body: Value) -> Result<()> {
        self.post(caller, path, body).map(drop)
    }
}

#[allow(clippy::too_many_arguments)]
impl Backend for RemoteRegistry {
    fn describe(&self) -> String {
        format!("server={:?}", self.shown)
    }

    fn create_user(
        &self,
        caller: &Caller,
        user_name: &str,
        password: &str,
        description: Option<&str>,
    ) -> Result<()> {
        let mut body = json!({ "userName": user_name, "password": password });
        if let Some(description) = description {
            body["description"] = json!(description);
        }
        self.call(caller, "/users/create", body)
    }

    fn update_password(
        &self,
        caller: &Caller,
        user_name: &str,
        old_password: &str,
        new_password: &str,
        _description: Option<&str>,
    ) -> Result<()> {
        self.call(
            caller,
            "/users/update_password",
            json!({ "userName": user_name, "password": old_password, "newPassword": new_password }),
        )
    }

    fn update_user(&self, _caller: &Caller, _user_name: &str, _description: &str) -> Result<()> {
        Err(unsupported("update_user"))
    }

    fn drop_user(&self, caller: &Caller, user_name: &str) -> Result<()> {
        self.call(caller, "/users/drop", json!({ "userName": user_name }))
    }

    fn list_users(&self, caller: &Caller) -> Result<Names> {
        Ok(texts(&self.post(caller, "/users/list", json!({}))?)
            .into_iter()
            .collect())
    }

    fn describe_user(&self, caller: &Caller, user_name: &str) -> Result<Option<UserDescription>> {
        let envelope =
            self.exchange(caller, "/users/describe", json!({ "userName": user_name }))?;
        let roles = texts(envelope.get("data").unwrap_or(&Value::Null));
        // REST answers [] for a missing user and for a user without roles alike: ask the user list, if the
        // caller may read it (a caller allowed to describe a user it may not list takes it as existing).
        if roles.is_empty() && caller.user() != Some(user_name) {
            match self.list_users(caller) {
                Ok(users) if !users.contains(user_name) => return Ok(None),
                Ok(_) | Err(RbacError::RemoteDenied { .. }) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(Some(UserDescription {
            name: user_name.to_string(),
            roles,
            description: text(&envelope, "description"),
        }))
    }

    fn create_role(
        &self,
        caller: &Caller,
        role_name: &str,
        description: Option<&str>,
    ) -> Result<()> {
        let mut body = json!({ "roleName": role_name });
        if let Some(description) = description.filter(|d| !d.is_empty()) {
            body["description"] = json!(description);
        }
        self.call(caller, "/roles/create", body)
    }

    fn alter_role(&self, caller: &Caller, role_name: &str, description: &str) -> Result<()> {
        self.call(
            caller,
            "/roles/alter",
            json!({ "roleName": role_name, "description": description }),
        )
    }

    fn drop_role(&self, caller: &Caller, role_name: &str, force_drop: bool) -> Result<()> {
        if force_drop {
            return Err(unsupported("drop_role(force_drop=True)"));
        }
        self.call(caller, "/roles/drop", json!({ "roleName": role_name }))
    }

    fn list_roles(&self, caller: &Caller) -> Result<Names> {
        Ok(texts(&self.post(caller, "/roles/list", json!({}))?)
            .into_iter()
            .collect())
    }

    fn grant_role(&self, caller: &Caller, user_name: &str, role_name: &str) -> Result<()> {
        self.call(
            caller,
            "/users/grant_role",
            json!({ "userName": user_name, "roleName": role_name }),
        )
    }

    fn revoke_role(&self, caller: &Caller, user_name: &str, role_name: &str) -> Result<()> {
        self.call(
            caller,
            "/users/revoke_role",
            json!({ "userName": user_name, "roleName": role_name }),
        )
    }

    fn operate_privilege(
        &self,
        caller: &Caller,
        operation: Operation,
        role_name: &str,
        object_type: &str,
        privilege: &str,
        object_name: &str,
        db_name: &str,
    ) -> Result<()> {
        let path = match operation {
            Operation::Grant => "/roles/grant_privilege",
            Operation::Revoke => "/roles/revoke_privilege",
        };
        self.call(
            caller,
            path,
            json!({
                "roleName": role_name, "objectType": object_type, "objectName": object_name,
                "privilege": privilege, "dbName": or_default(db_name),
            }),
        )
    }

    fn operate_privilege_v2(
        &self,
        caller: &Caller,
        operation: Operation,
        role_name: &str,
        privilege: &str,
        collection_name: &str,
        db_name: &str,
    ) -> Result<()> {
        let path = match operation {
            Operation::Grant => "/roles/grant_privilege_v2",
            Operation::Revoke => "/roles/revoke_privilege_v2",
        };
        self.call(
            caller,
            path,
            json!({
                "roleName": role_name, "privilege": privilege, "collectionName": collection_name,
                "dbName": db_name,
            }),
        )
    }

    fn describe_role(
        &self,
        caller: &Caller,
        role_name: &str,
        db_name: &str,
    ) -> Result<RoleDescription> {
        let envelope = self.exchange(
            caller,
            "/roles/describe",
            json!({ "roleName": role_name, "dbName": or_default(db_name) }),
        )?;
        let grants = envelope
            .get("data")
            .unwrap_or(&Value::Null)
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|item| Grant {
                        role_name: role_name.to_string(),
                        object_type: text(item, "objectType"),
                        db_name: text(item, "dbName"),
                        object_name: text(item, "objectName"),
                        privilege: text(item, "privilege"),
                        grantor: text(item, "grantor"),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(RoleDescription {
            name: role_name.to_string(),
            description: text(&envelope, "description"),
            grants,
        })
    }

    fn create_privilege_group(&self, caller: &Caller, group_name: &str) -> Result<()> {
        self.call(
            caller,
            "/privilege_groups/create",
            json!({ "privilegeGroupName": group_name }),
        )
    }

    fn drop_privilege_group(&self, caller: &Caller, group_name: &str) -> Result<()> {
        self.call(
            caller,
            "/privilege_groups/drop",
            json!({ "privilegeGroupName": group_name }),
        )
    }

    fn list_privilege_groups(&self, caller: &Caller) -> Result<Vec<Group>> {
        let data = self.post(caller, "/privilege_groups/list", json!({}))?;
        let empty = Map::new();
        let groups = data
            .get("privilegeGroups")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(groups
            .iter()
            .map(|group| {
                let group = group.as_object().unwrap_or(&empty);
                let privileges = group
                    .get("privileges")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                Group {
                    name: group
                        .get("privilegeGroupName")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    privileges: privileges
                        .split(',')
                        .filter(|p| !p.is_empty())
                        .map(str::to_string)
                        .collect(),
                }
            })
            .collect())
    }

    fn change_privilege_group(
        &self,
        caller: &Caller,
        change: GroupChange,
        group_name: &str,
        privileges: &[String],
    ) -> Result<()> {
        let path = match change {
            GroupChange::Add => "/privilege_groups/add_privileges_to_group",
            GroupChange::Remove => "/privilege_groups/remove_privileges_from_group",
        };
        self.call(
            caller,
            path,
            json!({ "privilegeGroupName": group_name, "privileges": privileges }),
        )
    }

    fn backup_rbac(&self, _caller: &Caller) -> Result<RbacBackup> {
        Err(unsupported("backup_rbac"))
    }

    fn restore_rbac(&self, _caller: &Caller, _backup: &RbacBackup) -> Result<()> {
        Err(unsupported("restore_rbac"))
    }

    fn explain_privilege(
        &self,
        _caller: &Caller,
        _user_name: &str,
        _privilege: &str,
        _object_type: &str,
        _object_name: &str,
        _db_name: &str,
    ) -> Result<Explanation> {
        Err(unsupported("check_privilege and explain_privilege"))
    }
}
