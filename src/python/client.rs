//! `MilvusClient`: pymilvus's user, role and privilege methods (generated from the operation table, see
//! `methods`), served by a registry embedded or on a server.
//!
//! Each method converts its arguments into a request, releases the GIL while the registry executes it
//! (argon2, storage, the network), and converts the reply; errors are mapped once. No rule lives here.

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::args::{flag, limit, secret, text, texts, Setting};
use super::display::client_html;
use super::errors::{param_error, to_py};
use super::replies::Replies;
use crate::caller::{Caller, Credentials};
use crate::connect::{connect, ClientTls, Protocol, Reach};
use crate::error::RbacError;
use crate::ops::{ClientEffect, Executor, Request};
use crate::profile::ProfileName;
use crate::settings::{RegistryOptions, SettingName};
use crate::wire::without_userinfo;
use crate::HashStrength;

/// A conversion of one argument.
type Reader = fn(&Bound<'_, PyAny>, &str) -> PyResult<String>;

/// What an open client holds: its registry (embedded or remote) and who it is connected as.
#[derive(Clone)]
struct Session {
    executor: Arc<dyn Executor>,
    caller: Arc<Caller>,
}

/// A client of a Milvus RBAC registry, with the user, role and privilege methods of `pymilvus.MilvusClient`.
///
/// `uri` is `":memory:"` (a private in-memory registry), a SQLite file path (shared by every client and
/// process that opens it), or `http://host:port` (a server: `milvus-rbac serve` or a real Milvus, reached
/// through Milvus's gRPC protocol as pymilvus reaches it; `protocol="rest"` uses its REST API v2 instead;
/// over `https://`, pymilvus's TLS keywords `server_pem_path`/`ca_pem_path`, `client_pem_path`,
/// `client_key_path` and `server_name` apply).
/// Credentials are checked here, as pymilvus's connect does: `token="user:password"`, or `user` and `password`. The
/// keyword-only settings (`profile`, `root_password`, `super_users`, `max_users`, `max_roles`,
/// `authorization_enabled`, `root_should_bind_role`, `password_hash`, `audit_retention`) are extensions, stored when the
/// registry is created. In a notebook, a client draws its users, roles and grants as tables.
///
/// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
/// >>> client
/// MilvusClient(uri=":memory:", user="root", profile="docs")
/// >>> MilvusClient(":memory:", token="root:wrong")
/// Traceback (most recent call last):
///   ...
/// milvus_rbac.exceptions.AuthenticationError: <AuthenticationError: (code=2, message=auth check failure, please check username and password are correct)>
/// >>> with MilvusClient(":memory:", token="root:Milvus", profile="milvus-2.5", password_hash="fast") as client:
/// ...     client.list_roles()
/// ['admin', 'public']
#[pyclass(module = "milvus_rbac._core", frozen)]
pub struct MilvusClient {
    uri: String,
    /// `None` once closed.
    session: Mutex<Option<Session>>,
    /// What this client made of its replies, handed out again while they are current.
    replies: Replies,
}

/// A setting given by name, such as a profile.
fn parsed<T: std::str::FromStr<Err = String>>(
    value: &Bound<'_, PyAny>,
    param: &str,
) -> PyResult<T> {
    text(value, param)?
        .parse()
        .map_err(|message: String| param_error(value.py(), format!("`{param}`: {message}")))
}

/// The keyword-only settings as given to the constructor (and to `serve`), one field per [`SettingName`]: the
/// pyo3 signatures list them by hand, as Python's `inspect.signature` shows them, and a test checks that they
/// name every setting of `_core.SETTINGS`.
pub(super) struct SettingArgs {
    pub(super) profile: Setting,
    pub(super) root_password: Setting,
    pub(super) super_users: Setting,
    pub(super) max_users: Setting,
    pub(super) max_roles: Setting,
    pub(super) authorization_enabled: Setting,
    pub(super) root_should_bind_role: Setting,
    pub(super) password_hash: Setting,
    pub(super) audit_retention: Setting,
}

impl SettingArgs {
    pub(super) fn options(&self, py: Python<'_>) -> PyResult<RegistryOptions> {
        // An explicit None means "not given" for every setting but the limits, where it means unlimited.
        let given = |setting: &Setting| setting.given(py).filter(|value| !value.is_none());
        let flag_of = |setting: &Setting, name: SettingName| {
            given(setting)
                .map(|value| flag(&value, name.as_str()))
                .transpose()
        };
        let limit_of = |setting: &Setting, name: SettingName| {
            setting
                .given(py)
                .map(|value| limit(&value, name.as_str()))
                .transpose()
        };
        Ok(RegistryOptions {
            profile: given(&self.profile)
                .map(|value| parsed::<ProfileName>(&value, SettingName::Profile.as_str()))
                .transpose()?,
            root_password: given(&self.root_password)
                .map(|value| secret(&value, SettingName::RootPassword.as_str()))
                .transpose()?,
            super_users: given(&self.super_users)
                .map(|value| texts(&value, SettingName::SuperUsers.as_str()))
                .transpose()?,
            max_users: limit_of(&self.max_users, SettingName::MaxUsers)?,
            max_roles: limit_of(&self.max_roles, SettingName::MaxRoles)?,
            authorization_enabled: flag_of(
                &self.authorization_enabled,
                SettingName::AuthorizationEnabled,
            )?,
            root_should_bind_role: flag_of(
                &self.root_should_bind_role,
                SettingName::RootShouldBindRole,
            )?,
            password_hash: given(&self.password_hash)
                .map(|value| parsed::<HashStrength>(&value, SettingName::PasswordHash.as_str()))
                .transpose()?,
            audit_retention: given(&self.audit_retention)
                .map(|value| limit(&value, SettingName::AuditRetention.as_str()))
                .transpose()?
                .flatten(),
        })
    }
}

impl MilvusClient {
    fn session(&self, py: Python<'_>) -> PyResult<Session> {
        let guard = self.session.lock().unwrap_or_else(|p| p.into_inner());
        guard.clone().ok_or_else(|| {
            to_py(
                py,
                RbacError::Unsupported {
                    message: "this MilvusClient is closed; create a new one".into(),
                },
            )
        })
    }

    /// Go on as `user` with `password` (after a password change with `reset_connection=True`).
    fn reconnect_as(&self, user: &str, password: &str) {
        let mut guard = self.session.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(session) = guard.as_mut() {
            session.caller = Arc::new(session.caller.reconnected(user, password));
        }
    }

    /// Execute `request` with the GIL released, and return its reply as pymilvus shapes it.
    pub(super) fn run<'py>(
        &self,
        py: Python<'py>,
        request: Request,
    ) -> PyResult<Bound<'py, PyAny>> {
        let session = self.session(py)?;
        let reply = py
            .detach(|| session.executor.execute(&session.caller, &request))
            .map_err(|err| to_py(py, err))?;
        if let Some(ClientEffect::Reconnect { user, password }) = request.client_effect() {
            self.reconnect_as(user, password);
        }
        self.replies.to_python(py, reply)
    }
}

#[pymethods]
impl MilvusClient {
    #[new]
    #[pyo3(
        text_signature = "(uri=':memory:', user='', password='', db_name='', token='', timeout=None, *, \
        profile=None, root_password=None, super_users=None, max_users=100, max_roles=10, \
        authorization_enabled=None, root_should_bind_role=None, password_hash=None, audit_retention=100000, **kwargs)"
    )]
    #[pyo3(signature = (
        uri = None, user = None, password = None, db_name = None, token = None, timeout = None, *,
        profile = Setting::UNSET, root_password = Setting::UNSET, super_users = Setting::UNSET,
        max_users = Setting::UNSET, max_roles = Setting::UNSET, authorization_enabled = Setting::UNSET,
        root_should_bind_role = Setting::UNSET, password_hash = Setting::UNSET,
    audit_retention = Setting::UNSET, **kwargs
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        uri: Option<&Bound<'_, PyAny>>,
        user: Option<&Bound<'_, PyAny>>,
        password: Option<&Bound<'_, PyAny>>,
        db_name: Option<&Bound<'_, PyAny>>,
        token: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
        profile: Setting,
        root_password: Setting,
        super_users: Setting,
        max_users: Setting,
        max_roles: Setting,
        authorization_enabled: Setting,
        root_should_bind_role: Setting,
        password_hash: Setting,
        audit_retention: Setting,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<MilvusClient> {
        let protocol = super::args::from_kwargs(kwargs, "protocol")?
            .map(|value| parsed::<Protocol>(&value, "protocol"))
            .transpose()?;
        // pymilvus's TLS arguments (`server_pem_path` is its CA for one-way TLS, as `ca_pem_path` for mutual).
        let kwarg_text = |name: &str| -> PyResult<Option<String>> {
            match super::args::from_kwargs(kwargs, name)? {
                Some(value) if !value.is_none() => text(&value, name).map(Some),
                _ => Ok(None),
            }
        };
        let tls = ClientTls {
            ca_pem: kwarg_text("ca_pem_path")?
                .or(kwarg_text("server_pem_path")?)
                .map(Into::into),
            client_pem: kwarg_text("client_pem_path")?.map(Into::into),
            client_key: kwarg_text("client_key_path")?.map(Into::into),
            server_name: kwarg_text("server_name")?,
        };
        let reach = Reach { protocol, tls };
        timeout.map(super::args::timeout).transpose()?;
        let text_or_empty = |value: Option<&Bound<'_, PyAny>>, param: &str, read: Reader| {
            value.map_or_else(|| Ok(String::new()), |value| read(value, param))
        };
        let uri = uri.map_or_else(|| Ok(":memory:".to_string()), |value| text(value, "uri"))?;
        let db_name = text_or_empty(db_name, "db_name", text)?;
        let credentials = Credentials::parse(
            &text_or_empty(user, "user", text)?,
            &text_or_empty(password, "password", secret)?,
            &text_or_empty(token, "token", secret)?,
        );
        let options = SettingArgs {
            profile,
            root_password,
            super_users,
            max_users,
            max_roles,
            authorization_enabled,
            root_should_bind_role,
            password_hash,
            audit_retention,
        }
        .options(py)?;
        let (executor, caller) = py
            .detach(|| connect(&uri, &credentials, &db_name, &options, &reach))
            .map_err(|err| to_py(py, err))?;
        Ok(MilvusClient {
            // Shown in reprs: credentials in a server's URI stay out.
            uri: without_userinfo(&uri),
            session: Mutex::new(Some(Session {
                executor,
                caller: Arc::new(caller),
            })),
            replies: Replies::default(),
        })
    }

    /// Release the registry. Later calls raise `MilvusException`; closing twice is harmless.
    ///
    /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    /// >>> client.close()
    /// >>> client.list_users()
    /// Traceback (most recent call last):
    ///   ...
    /// milvus_rbac.exceptions.MilvusException: <MilvusException: (code=65535, message=this MilvusClient is closed; create a new one)>
    fn close(&self) {
        self.session
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc_info))]
    fn __exit__(&self, _exc_info: &Bound<'_, PyTuple>) -> bool {
        self.close();
        false
    }

    /// An HTML overview for notebooks: the users this client may list, their roles, and the roles' grants.
    fn _repr_html_(slf: &Bound<'_, Self>) -> PyResult<String> {
        client_html(slf.as_any())
    }

    fn __repr__(&self) -> String {
        let guard = self.session.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            Some(session) => format!(
                "MilvusClient(uri={:?}, user={:?}, {})",
                self.uri,
                session.caller.user().unwrap_or(""),
                session.executor.describe()
            ),
            None => format!("MilvusClient(uri={:?}, closed)", self.uri),
        }
    }
}
