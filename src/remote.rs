//! A registry on a server, reached through Milvus's REST API v2 (this project's server or a real Milvus 2.4+).
//! Answers and errors are mapped back to the values and errors an embedded registry gives.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Map, Value};
use ureq::Agent;

use crate::backend::Backend;
use crate::catalog::Group;
use crate::error::{AuthFailure, LegacyCode, RbacError, Result, Rpc, CODE_UNEXPECTED};
use crate::profile::{Profile, ProfileName};
use crate::registry::{
    Caller, Credentials, Explanation, GroupChange, Operation, RbacBackup, RoleDescription,
    UserDescription, DEFAULT_DATABASE,
};
use crate::server::{PROFILE_HEADER, USER_FOUND_HEADER};
use crate::store::{Grant, Names};
use crate::validate;

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The prefix Milvus puts before a denial in its REST envelope.
const DENIAL_PREFIX: &str = "rpc error: code = PermissionDenied desc = ";
/// The profile taken for a server that announces none (a real Milvus): the current release line.
const UNANNOUNCED: ProfileName = ProfileName::Milvus26;

/// A registry served over HTTP.
pub struct RemoteRegistry {
    base: String,
    /// `base` without any `user:password@`, for messages and reprs.
    shown: String,
    agent: Agent,
    /// The server's validation rules: announced by `milvus-rbac serve`, else [`UNANNOUNCED`]. They check here
    /// only what REST cannot carry (empty names and passwords), and tell the proxy's errors from the
    /// coordinator's for their legacy codes.
    rules: &'static Profile,
}

/// A successful answer: its envelope, and what our server says beside it in headers.
struct Answer {
    envelope: Value,
    /// The profile the server announces ([`PROFILE_HEADER`]).
    profile: Option<ProfileName>,
    /// Whether a described user exists ([`USER_FOUND_HEADER`]).
    user_found: Option<bool>,
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
        let mut remote = RemoteRegistry {
            base: uri.trim_end_matches('/').to_string(),
            shown: without_userinfo(uri.trim_end_matches('/')),
            agent,
            rules: UNANNOUNCED.profile(),
        };
        let caller = Caller::remote(credentials, db_name);
        // A request every authenticated user may make: describing oneself (or listing roles, anonymously).
        let answer = match caller.user() {
            Some(user) => remote.send(
                &caller,
                Some(Rpc::SelectUser),
                "/users/describe",
                json!({ "userName": user }),
            )?,
            None => remote.send(&caller, None, "/roles/list", json!({}))?,
        };
        if let Some(profile) = answer.profile {
            remote.rules = profile.profile();
        }
        Ok((remote, caller))
    }

    /// The `data` of a successful answer.
    fn post(&self, caller: &Caller, rpc: Option<Rpc>, path: &str, body: Value) -> Result<Value> {
        let mut envelope = self.send(caller, rpc, path, body)?.envelope;
        Ok(envelope
            .get_mut("data")
            .map(Value::take)
            .unwrap_or(Value::Null))
    }

    /// A successful answer, errors mapped to the embedded registry's (`rpc` is the Milvus call behind `path`,
    /// which legacy codes depend on).
    fn send(&self, caller: &Caller, rpc: Option<Rpc>, path: &str, body: Value) -> Result<Answer> {
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
            legacy: LegacyCode::UnexpectedError,
        }
        };
        let mut response = request.send_json(&body).map_err(unreachable)?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_string)
        };
        let profile = header(PROFILE_HEADER).and_then(|name| name.parse::<ProfileName>().ok());
        let user_found = header(USER_FOUND_HEADER).and_then(|found| found.parse::<bool>().ok());
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
            200 if code == 0 => Ok(Answer {
                envelope,
                profile,
                user_found,
            }),
            200 => {
                let code = i32::try_from(code).unwrap_or(CODE_UNEXPECTED);
                Err(RbacError::Remote {
                    code,
                    message,
                    legacy: rpc.map_or(LegacyCode::UnexpectedError, |rpc| {
                        rpc.legacy_code(code, self.proxy_refuses(rpc, caller, &body))
                    }),
                })
            }
            _ => Err(RbacError::Remote {
                code: CODE_UNEXPECTED,
                message: format!("{}{path} answered HTTP {status}: {message}", self.shown),
                legacy: LegacyCode::UnexpectedError,
            }),
        }
    }

    /// Whether Milvus's proxy refuses `body` of `rpc` before its coordinator sees it (a name its validators
    /// reject, a password it refuses or cannot hash): the proxy's errors carry other legacy codes than the
    /// coordinator's.
    fn proxy_refuses(&self, rpc: Rpc, caller: &Caller, body: &Value) -> bool {
        let rules = self.rules;
        let field = |name: &str| body.get(name).and_then(Value::as_str);
        let object_name =
            |text: &str| text != "*" && validate::name(&rules.object_names, text, "").is_err();
        // Only these validate the user name; UpdateCredential checks its new password, CreateCredential its one.
        let checks_user = matches!(
            rpc,
            Rpc::CreateCredential | Rpc::OperateUserRole | Rpc::SelectUser
        );
        let password = match rpc {
            Rpc::CreateCredential => field("password"),
            Rpc::UpdateCredential => field("newPassword"),
            _ => None,
        };
        let privileges = body.get("privileges").map(texts).unwrap_or_default();
        // Grants v2 (the only calls with a collection name) and privilege groups came with Milvus 2.5: an older
        // server refuses them before any coordinator.
        let missing_call = !rules.catalog.has_groups()
            && (field("collectionName").is_some() || field("privilegeGroupName").is_some());
        // The proxy takes a grant's grantor from the request's credentials: without any, it refuses.
        let no_grantor = rpc == Rpc::OperatePrivilege && caller.user().is_none();
        missing_call
            || no_grantor
            || field("userName").is_some_and(|name| {
                checks_user && validate::username(&rules.username, name).is_err()
            })
            || field("roleName")
                .is_some_and(|name| validate::name(&rules.role_name, name, "").is_err())
            || field("privilegeGroupName")
                .is_some_and(|name| validate::privilege_group_name(name).is_err())
            || ["privilege", "objectType", "objectName", "collectionName"]
                .into_iter()
                .filter_map(field)
                .chain(privileges.iter().map(String::as_str))
                .any(object_name)
            || password.is_some_and(|password| {
                validate::password(&rules.password, password).is_err()
                    || validate::password_hashable(&rules.password, password).is_err()
            })
    }

    /// The list of names a list endpoint answers.
    fn names(&self, caller: &Caller, path: &str) -> Result<Arc<Names>> {
        let data = self.post(caller, None, path, json!({}))?;
        let names = data
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str);
        Ok(Arc::new(names.collect()))
    }

    fn call(&self, caller: &Caller, rpc: Rpc, path: &str, body: Value) -> Result<()> {
        self.post(caller, Some(rpc), path, body).map(drop)
    }

    /// OperateUserRole's checks of an empty name, which REST cannot carry: the user name first.
    fn check_membership(&self, user_name: &str, role_name: &str) -> Result<()> {
        if user_name.is_empty() || role_name.is_empty() {
            validate::username(&self.rules.username, user_name)?;
            validate::name(&self.rules.role_name, role_name, "role name")?;
        }
        Ok(())
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
        // REST takes an empty name or password for a missing one (1802): the embedded checks answer here.
        if user_name.is_empty() || password.is_empty() {
            validate::username(&self.rules.username, user_name)?;
            validate::password(&self.rules.password, password)?;
        }
        let mut body = json!({ "userName": user_name, "password": password });
        if let Some(description) = description {
            body["description"] = json!(description);
        }
        self.call(caller, Rpc::CreateCredential, "/users/create", body)
    }

    fn update_password(
        &self,
        caller: &Caller,
        user_name: &str,
        old_password: &str,
        new_password: &str,
        _description: Option<&str>,
    ) -> Result<()> {
        if user_name.is_empty() || old_password.is_empty() || new_password.is_empty() {
            validate::password(&self.rules.password, new_password)?;
            // Nobody has an empty name or password: the old one is wrong, as the server tells anyone but a super
            // user (whom REST cannot tell it anyway).
            let user = if self.rules.old_password_message_trims_end {
                user_name.trim_end_matches([' ', '\n'])
            } else {
                user_name
            };
            return Err(RbacError::OldPasswordIncorrect {
                user: user.to_string(),
            });
        }
        self.call(
            caller,
            Rpc::UpdateCredential,
            "/users/update_password",
            json!({ "userName": user_name, "password": old_password, "newPassword": new_password }),
        )
    }

    fn update_user(&self, _caller: &Caller, _user_name: &str, _description: &str) -> Result<()> {
        Err(unsupported("update_user"))
    }

    fn drop_user(&self, caller: &Caller, user_name: &str) -> Result<()> {
        // What the server answers for a blank name, which REST carries.
        if user_name.is_empty() {
            return Err(RbacError::DropEmptyUser);
        }
        self.call(
            caller,
            Rpc::DeleteCredential,
            "/users/drop",
            json!({ "userName": user_name }),
        )
    }

    fn list_users(&self, caller: &Caller) -> Result<Arc<Names>> {
        self.names(caller, "/users/list")
    }

    fn describe_user(&self, caller: &Caller, user_name: &str) -> Result<Option<UserDescription>> {
        if user_name.is_empty() {
            validate::username(&self.rules.username, user_name)?;
        }
        let answer = self.send(
            caller,
            Some(Rpc::SelectUser),
            "/users/describe",
            json!({ "userName": user_name }),
        )?;
        let roles = texts(answer.envelope.get("data").unwrap_or(&Value::Null));
        let found = match answer.user_found {
            Some(found) => found,
            // Real Milvus answers [] for a missing user and for a user without roles alike: ask the user list,
            // if the caller may read it. A caller allowed to describe a user but not to list users takes it as
            // existing, as the server's answer (no roles) says.
            None if roles.is_empty() && caller.user() != Some(user_name) => {
                match self.list_users(caller) {
                    Ok(users) => users.contains(user_name),
                    Err(RbacError::RemoteDenied { .. }) => true,
                    Err(err) => return Err(err),
                }
            }
            None => true,
        };
        Ok(found.then(|| UserDescription {
            name: user_name.to_string(),
            roles,
            description: text(&answer.envelope, "description"),
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
        self.call(caller, Rpc::CreateRole, "/roles/create", body)
    }

    fn alter_role(&self, caller: &Caller, role_name: &str, description: &str) -> Result<()> {
        self.call(
            caller,
            Rpc::AlterRole,
            "/roles/alter",
            json!({ "roleName": role_name, "description": description }),
        )
    }

    fn drop_role(&self, caller: &Caller, role_name: &str, force_drop: bool) -> Result<()> {
        if force_drop {
            return Err(unsupported("drop_role(force_drop=True)"));
        }
        self.call(
            caller,
            Rpc::DropRole,
            "/roles/drop",
            json!({ "roleName": role_name }),
        )
    }

    fn list_roles(&self, caller: &Caller) -> Result<Arc<Names>> {
        self.names(caller, "/roles/list")
    }

    fn grant_role(&self, caller: &Caller, user_name: &str, role_name: &str) -> Result<()> {
        self.check_membership(user_name, role_name)?;
        self.call(
            caller,
            Rpc::OperateUserRole,
            "/users/grant_role",
            json!({ "userName": user_name, "roleName": role_name }),
        )
    }

    fn revoke_role(&self, caller: &Caller, user_name: &str, role_name: &str) -> Result<()> {
        self.check_membership(user_name, role_name)?;
        self.call(
            caller,
            Rpc::OperateUserRole,
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
            Rpc::OperatePrivilege,
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
            Rpc::OperatePrivilege,
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
        let envelope = self
            .send(
                caller,
                Some(Rpc::SelectGrant),
                "/roles/describe",
                json!({ "roleName": role_name, "dbName": or_default(db_name) }),
            )?
            .envelope;
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
            Rpc::CreatePrivilegeGroup,
            "/privilege_groups/create",
            json!({ "privilegeGroupName": group_name }),
        )
    }

    fn drop_privilege_group(&self, caller: &Caller, group_name: &str) -> Result<()> {
        self.call(
            caller,
            Rpc::DropPrivilegeGroup,
            "/privilege_groups/drop",
            json!({ "privilegeGroupName": group_name }),
        )
    }

    fn list_privilege_groups(&self, caller: &Caller) -> Result<Vec<Group>> {
        let data = self.post(caller, None, "/privilege_groups/list", json!({}))?;
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
            Rpc::OperatePrivilegeGroup,
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
