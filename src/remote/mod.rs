//! A registry on a server, reached through Milvus's REST API v2 (this project's server or a real Milvus 2.4+).
//! Every request is sent through its operation's spec, and answers and errors are mapped back to the values
//! and errors an embedded registry gives.

mod translate;

use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value as Json};
use ureq::tls::{parse_pem, Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};
use ureq::Agent;

use crate::client_tls::ClientTls;

use crate::caller::{Caller, Credentials};
use crate::error::{AuthFailure, LegacyCode, RbacError, Result, Rpc, CODE_UNEXPECTED};
use crate::ops::{ArgKind, Availability, Executor, OpSpec, Reply, Request, ValueRef};
use crate::password::HashStrength;
use crate::profile::{Profile, ProfileName};
use crate::registry::Registry;
use crate::settings::RegistryOptions;
use crate::validate;
use crate::wire::rest::{field_of, DENIAL_PREFIX, PREFIX, PROFILE_HEADER, USER_FOUND_HEADER};
use crate::wire::without_userinfo;
use translate::{body_of, reply_of};

/// How long one request may take, unless the call gives a timeout of its own.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The profile taken for a server that announces none (a real Milvus): the current release line.
const UNANNOUNCED: ProfileName = ProfileName::Milvus26;

/// A registry served over HTTP.
pub struct RemoteRegistry {
    base: String,
    /// `base` without any `user:password@`, for messages and reprs.
    shown: String,
    agent: Agent,
    /// The server's validation rules: announced by `milvus-rbac serve`, else [`UNANNOUNCED`]. They answer
    /// here what REST cannot carry (empty names and passwords), and tell the proxy's errors from the
    /// coordinator's for their legacy codes.
    rules: &'static Profile,
}

/// A successful answer: its envelope, and what our server says beside it in headers.
struct Answer {
    envelope: Json,
    /// The profile the server announces ([`PROFILE_HEADER`]).
    profile: Option<ProfileName>,
    /// Whether a described user exists ([`USER_FOUND_HEADER`]).
    user_found: Option<bool>,
}

fn unsupported(what: &str) -> RbacError {
    RbacError::Unsupported {
        message: format!("{what} is not available over Milvus's REST API"),
    }
}

/// The TLS of requests to an https:// server, from pymilvus's TLS files (the public web's roots by default).
/// REST cannot check a certificate against another name than the URI's host: `server_name` is refused.
fn tls_config(tls: &ClientTls) -> Result<TlsConfig> {
    let fail = |what: &str, path: &std::path::Path, err: &dyn std::fmt::Display| RbacError::Param {
        message: format!("cannot use the {what} {}: {err}", path.display()),
    };
    let read = |what: &str, path: &std::path::Path| {
        std::fs::read(path).map_err(|err| fail(what, path, &err))
    };
    if tls.server_name.is_some() {
        return Err(RbacError::Unsupported {
            message: "`server_name` is not supported over REST: the server's certificate must name the URI's host"
                .into(),
        });
    }
    let mut config = TlsConfig::builder();
    if let Some(path) = &tls.ca_pem {
        let pem = read("CA certificate", path)?;
        let roots = parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(PemItem::Certificate(certificate)) => Some(Ok(certificate)),
                Ok(_) => None,
                Err(err) => Some(Err(err)),
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|err| fail("CA certificate", path, &err))?;
        config = config.root_certs(RootCerts::Specific(std::sync::Arc::new(roots)));
    }
    match (&tls.client_pem, &tls.client_key) {
        (Some(pem), Some(key)) => {
            let certificate = Certificate::from_pem(&read("client certificate", pem)?)
                .map_err(|err| fail("client certificate", pem, &err))?;
            let private = PrivateKey::from_pem(&read("client key", key)?)
                .map_err(|err| fail("client key", key, &err))?;
            config = config.client_cert(Some(ClientCert::new_with_certs(&[certificate], private)));
        }
        (None, None) => {}
        _ => {
            return Err(RbacError::Param {
                message: "mutual TLS needs both `client_pem_path` and `client_key_path`".into(),
            })
        }
    }
    Ok(config.build())
}

impl RemoteRegistry {
    /// Connect to the server at `uri` and check the credentials, as pymilvus does when it connects.
    pub fn connect(
        uri: &str,
        credentials: &Credentials,
        db_name: &str,
        tls: &ClientTls,
    ) -> Result<(RemoteRegistry, Caller)> {
        if matches!(credentials, Credentials::ApiKey) {
            return Err(RbacError::Authentication {
                reason: AuthFailure::BadApiKey,
            });
        }
        if !uri.starts_with("https://") && tls != &ClientTls::default() {
            return Err(RbacError::Param {
                message: "the TLS files apply to an https:// server".into(),
            });
        }
        let agent: Agent = Agent::config_builder()
            .timeout_global(Some(REQUEST_TIMEOUT))
            .http_status_as_error(false)
            .tls_config(tls_config(tls)?)
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
                OpSpec::named("describe_user"),
                "/users/describe",
                json!({ "userName": user }),
                None,
            )?,
            None => remote.send(
                &caller,
                OpSpec::named("list_roles"),
                "/roles/list",
                json!({}),
                None,
            )?,
        };
        if let Some(profile) = answer.profile {
            remote.rules = profile.profile();
        }
        Ok((remote, caller))
    }

    /// A successful answer, errors mapped to the embedded registry's (`spec` is the operation behind `path`,
    /// whose Milvus call legacy codes depend on).
    fn send(
        &self,
        caller: &Caller,
        spec: Option<&OpSpec>,
        path: &str,
        body: Json,
        timeout: Option<f64>,
    ) -> Result<Answer> {
        let url = format!("{}{PREFIX}{path}", self.base);
        let mut request = self.agent.post(&url).header("DB-Name", caller.db_name());
        // HTTP Basic carries any password (a Bearer header takes visible ASCII only); Milvus accepts both.
        if let Some(token) = caller.token() {
            let encoded = base64::engine::general_purpose::STANDARD.encode(token.as_bytes());
            request = request.header("Authorization", format!("Basic {encoded}"));
        }
        if let Some(limit) = timeout.and_then(|seconds| Duration::try_from_secs_f64(seconds).ok()) {
            request = request.config().timeout_global(Some(limit)).build();
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
        let envelope: Json = response
            .body_mut()
            .read_json()
            .unwrap_or_else(|_| json!({}));
        let code = envelope.get("code").and_then(Json::as_i64).unwrap_or(-1);
        let message = envelope
            .get("message")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
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
                    legacy: spec.map_or(LegacyCode::UnexpectedError, |spec| {
                        self.legacy_code(spec, code, caller, &body)
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

    /// The legacy code of a failure of `spec`'s operation reported with `code`, as the embedded registry
    /// gives it.
    fn legacy_code(&self, spec: &OpSpec, code: i32, caller: &Caller, body: &Json) -> LegacyCode {
        match spec.rpc {
            Some(rpc) => rpc.legacy_code(code, self.proxy_refuses(spec, rpc, caller, body)),
            None => LegacyCode::UnexpectedError,
        }
    }

    /// Whether Milvus's proxy refuses `body` of `rpc` before its coordinator sees it (a name its validators
    /// reject, a password it refuses or cannot hash): the proxy's errors carry other legacy codes than the
    /// coordinator's.
    fn proxy_refuses(&self, spec: &OpSpec, rpc: Rpc, caller: &Caller, body: &Json) -> bool {
        let rules = self.rules;
        let field = |kind: ArgKind| {
            crate::wire::rest::field_name(kind)
                .and_then(|name| body.get(name))
                .and_then(Json::as_str)
        };
        let object_name =
            |text: &str| text != "*" && validate::name(&rules.object_names, text, "").is_err();
        // Only these validate the user name; UpdateCredential checks its new password, CreateCredential its one.
        let checks_user = matches!(
            rpc,
            Rpc::CreateCredential | Rpc::OperateUserRole | Rpc::SelectUser
        );
        let password = match rpc {
            Rpc::CreateCredential => field(ArgKind::Password),
            Rpc::UpdateCredential => field(ArgKind::NewPassword),
            _ => None,
        };
        let privileges: Vec<&str> = body
            .get("privileges")
            .and_then(Json::as_array)
            .map(|items| items.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default();
        // Grants v2 and privilege groups came with Milvus 2.5: an older server refuses them before any
        // coordinator.
        let missing_call =
            spec.available == Availability::WithGroups && !rules.catalog.has_groups();
        // The proxy takes a grant's grantor from the request's credentials: without any, it refuses.
        let no_grantor = matches!(rpc, Rpc::OperatePrivilege | Rpc::OperatePrivilegeV2)
            && caller.user().is_none();
        missing_call
            || no_grantor
            || field(ArgKind::UserName).is_some_and(|name| {
                checks_user && validate::username(&rules.username, name).is_err()
            })
            || field(ArgKind::RoleName)
                .is_some_and(|name| validate::name(&rules.role_name, name, "").is_err())
            || field(ArgKind::GroupName)
                .is_some_and(|name| validate::privilege_group_name(name).is_err())
            || [
                ArgKind::Privilege,
                ArgKind::ObjectType,
                ArgKind::ObjectName,
                ArgKind::CollectionName,
            ]
            .into_iter()
            .filter_map(field)
            .chain(privileges)
            .any(object_name)
            || password.is_some_and(|password| {
                validate::password(&rules.password, password).is_err()
                    || validate::password_hashable(&rules.password, password).is_err()
            })
    }

    /// What the embedded rules answer to `request`, for what REST cannot carry (an empty name or
    /// password, which Milvus's binding takes for a missing one): the request runs on an empty in-memory
    /// registry of the server's profile, with authorization off.
    fn answer_locally(&self, request: &Request) -> Result<()> {
        let options = RegistryOptions {
            profile: Some(self.rules.name),
            authorization_enabled: Some(false),
            password_hash: Some(HashStrength::Fast),
            ..RegistryOptions::default()
        };
        let scratch = Registry::in_memory(&options)?;
        scratch
            .execute(&Caller::remote(&Credentials::Missing, ""), request)
            .map(drop)
    }

    /// Refuse what REST cannot carry: an argument it has no field for, given a value other than its default
    /// (`drop_role(force_drop=True)`).
    fn check_carried(&self, spec: &OpSpec, values: &[ValueRef<'_>]) -> Result<()> {
        for (arg, value) in spec.args.iter().zip(values) {
            if arg.kind.is_client_side() || field_of(spec, arg).is_some() {
                continue;
            }
            if crate::ops::Value::from(*value) != arg.kind.default_value(arg.default) {
                let shown = match value {
                    ValueRef::Flag(true) => "True",
                    _ => "...",
                };
                return Err(unsupported(&format!("{}({}={shown})", spec.name, arg.name)));
            }
        }
        Ok(())
    }
}

impl Executor for RemoteRegistry {
    fn execute(&self, caller: &Caller, request: &Request) -> Result<Reply> {
        let spec = request.spec();
        let route = spec.rest.ok_or_else(|| unsupported(spec.name))?;
        let values = request.values();
        self.check_carried(spec, &values)?;
        let empty_required = spec.args.iter().zip(&values).any(|(arg, value)| {
            field_of(spec, arg).is_some_and(|field| field.required) && value.text().is_empty()
        });
        if empty_required {
            self.answer_locally(request)?;
        }
        let timeout =
            spec.args
                .iter()
                .zip(&values)
                .find_map(|(arg, value)| match (arg.kind, value) {
                    (ArgKind::Timeout, ValueRef::Seconds(seconds)) => *seconds,
                    _ => None,
                });
        let body = body_of(spec, &values);
        let answer = self.send(caller, Some(spec), route.path, body, timeout)?;
        reply_of(self, caller, request, answer)
    }

    fn describe(&self) -> String {
        format!("server={:?}", self.shown)
    }
}
