//! Milvus's RESTful API v2 and its gRPC protocol for users, roles, privileges and privilege groups, served
//! from a registry on one port (HTTP/1.1 for REST, HTTP/2 for gRPC, as Milvus on 19530).
//!
//! Requests run on tokio; each registry call (argon2 and SQLite) runs on the blocking pool, so hashing never
//! stalls the event loop and reads proceed while a write waits for SQLite. Bodies over 1 MiB are refused with
//! 413 before they are read whole.

#[cfg(test)]
mod fuzz_tests;
mod go_json;
mod grpc;
mod listen;
mod lockout;
mod openapi;
mod request;
mod tls;
mod translate;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Extension;
use axum::{Json, Router};
use base64::Engine;
use serde_json::json;

use crate::caller::{Caller, Credentials};
use crate::error::{AuthFailure, RbacError, Result};
use crate::model::DEFAULT_DATABASE;
use crate::ops::{OpSpec, OPERATIONS};
use crate::registry::Registry;
use crate::wire::grpc::SERVICE_PATH;
use crate::wire::rest::{fields, DENIAL_PREFIX, PREFIX, PROFILE_HEADER, USER_FOUND_HEADER};
pub use listen::ConnectionLimits;
use lockout::Lockout;
pub use lockout::LoginLimits;
use openapi::openapi_document;
use request::{Body, BodyError};
pub use tls::TlsFiles;
use translate::{answer, request_of};

/// Milvus's code for a request without valid credentials.
const CODE_UNAUTHENTICATED: i32 = 1800;

/// How long a stopping server waits for its open connections to close.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Where a REST call stands against its `Request-Timeout`.
const WAITING: u8 = 0;
const RUNNING: u8 = 1;
const GIVEN_UP: u8 = 2;

/// The largest request body accepted.
const MAX_BODY_BYTES: usize = 1 << 20;

/// How verbose the server is on stderr. Request lines never hold bodies or credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

impl std::str::FromStr for LogLevel {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "error" => Ok(LogLevel::Error),
            "warn" | "warning" => Ok(LogLevel::Warn),
            "info" => Ok(LogLevel::Info),
            "debug" => Ok(LogLevel::Debug),
            _ => Err(format!(
                "unknown log level {text:?}; expected error, warn, info or debug"
            )),
        }
    }
}

/// Where and how to serve.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub host: String,
    /// 0 picks a free port (announced on stdout).
    pub port: u16,
    pub log_level: LogLevel,
    pub limits: ConnectionLimits,
    pub logins: LoginLimits,
    /// Serve over TLS (one-way, or mutual with a client CA).
    pub tls: Option<TlsFiles>,
}

impl ServeConfig {
    /// The URL scheme clients use: `https` over TLS.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }
}

struct Shared {
    registry: Registry,
    log_level: LogLevel,
    lockout: Lockout,
}

/// The address of the client of a connection (an extension of its every request).
#[derive(Debug, Clone, Copy)]
struct Peer(Option<IpAddr>);

impl Shared {
    /// Authenticate as the registry does, within the limits on failed logins: a locked-out user or address gets
    /// Milvus's authentication error without an argon2 run, unless its credentials are already known good.
    fn authenticate(&self, credentials: &Credentials, db: &str, peer: Peer) -> Result<Caller> {
        let Credentials::UserPassword { user, .. } = credentials else {
            return self.registry.authenticate(credentials, db);
        };
        if self.lockout.locked(user, peer.0) && !self.registry.knows_credential(credentials)? {
            return Err(RbacError::Authentication {
                reason: AuthFailure::BadCredentials,
            });
        }
        let authenticated = self.registry.authenticate(credentials, db);
        if let Err(RbacError::Authentication {
            reason: AuthFailure::BadCredentials,
        }) = &authenticated
        {
            self.lockout.failed(user, peer.0);
        }
        authenticated
    }
}

/// The credentials of a request: `Authorization: Bearer user:password`, or HTTP Basic.
fn credentials(headers: &HeaderMap) -> (Credentials, bool) {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return (Credentials::Missing, false);
    };
    if let Some(token) = value.strip_prefix("Bearer ") {
        return (Credentials::parse("", "", token), false);
    }
    if let Some(encoded) = value.strip_prefix("Basic ") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok());
        return match decoded {
            Some(pair) if pair.contains(':') => (Credentials::parse("", "", &pair), true),
            _ => (Credentials::ApiKey, true),
        };
    }
    (Credentials::ApiKey, false)
}

fn envelope(status: StatusCode, code: i32, message: &str) -> Response {
    (status, Json(json!({ "code": code, "message": message }))).into_response()
}

/// Why a request failed: its body, or the registry.
enum Failure {
    Body(BodyError),
    Registry(RbacError),
}

impl From<BodyError> for Failure {
    fn from(err: BodyError) -> Failure {
        Failure::Body(err)
    }
}

impl From<RbacError> for Failure {
    fn from(err: RbacError) -> Failure {
        Failure::Registry(err)
    }
}

/// Milvus's envelopes: errors are HTTP 200 with a code, but authentication (401) and denial (403).
fn failure_response(failure: Failure, basic: bool) -> Response {
    match failure {
        Failure::Body(err) => envelope(StatusCode::OK, err.code, &err.message),
        Failure::Registry(RbacError::Authentication { .. }) => {
            let mut response = envelope(
                StatusCode::UNAUTHORIZED,
                CODE_UNAUTHENTICATED,
                "user hasn't authenticated",
            );
            if basic {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"restricted\", charset=\"UTF-8\""),
                );
            }
            response
        }
        Failure::Registry(err @ RbacError::PermissionDenied { .. }) => envelope(
            StatusCode::FORBIDDEN,
            err.code(),
            &format!("{DENIAL_PREFIX}{err}"),
        ),
        Failure::Registry(err) => envelope(StatusCode::OK, err.code(), &err.to_string()),
    }
}

/// Authenticate, parse and run one request of `spec`'s operation (on the blocking pool).
/// Authenticate, read the body, execute: one REST request, answered or refused.
fn answer_request(
    shared: &Shared,
    spec: &'static OpSpec,
    credentials: &Credentials,
    header_db: &str,
    peer: Peer,
    bytes: &[u8],
) -> std::result::Result<(translate::Answer, Option<String>), Failure> {
    // Milvus authenticates before it reads the body.
    let caller = shared.authenticate(credentials, header_db, peer)?;
    let request_struct = spec.rest.map_or("", |route| route.request);
    let body = Body::parse(request_struct, bytes)?;
    body.bind(&fields(spec).collect::<Vec<_>>())?;
    let db = body.text("dbName")?;
    let caller = if db.is_empty() {
        caller
    } else {
        caller.in_database(&db)
    };
    let request = request_of(spec, &body, header_db)?;
    let reply = shared.registry.execute(&caller, &request)?;
    Ok((
        answer(reply, shared.registry.profile()),
        caller.user().map(str::to_string),
    ))
}

fn run(
    shared: &Shared,
    spec: &'static OpSpec,
    peer: Peer,
    headers: &HeaderMap,
    bytes: &[u8],
) -> (Response, Option<String>) {
    let (credentials, basic) = credentials(headers);
    let header_db = headers
        .get("DB-Name")
        .and_then(|v| v.to_str().ok())
        .filter(|db| !db.is_empty())
        .unwrap_or(DEFAULT_DATABASE)
        .to_string();
    // One look at the registry's state for the whole request (see `Store::within_call`).
    let outcome = shared
        .registry
        .within_call(|| {
            Ok(answer_request(
                shared,
                spec,
                &credentials,
                &header_db,
                peer,
                bytes,
            ))
        })
        .unwrap_or_else(|err| Err(Failure::Registry(err)));
    match outcome {
        Ok((answer, user)) => {
            let mut envelope = json!({ "code": 0, "data": answer.data });
            if let Some(description) = answer.description {
                envelope["description"] = json!(description);
            }
            let mut response = Json(envelope).into_response();
            if let Some(found) = answer.user_found {
                response.headers_mut().insert(
                    USER_FOUND_HEADER,
                    HeaderValue::from_static(if found { "true" } else { "false" }),
                );
            }
            (response, user)
        }
        Err(failure) => (failure_response(failure, basic), None),
    }
}

/// Every answer names the registry's profile, refusals of unreadable bodies included.
fn announce_profile(shared: &Shared, response: &mut Response) {
    response.headers_mut().insert(
        PROFILE_HEADER,
        HeaderValue::from_static(shared.registry.profile().name.as_str()),
    );
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    spec: &'static OpSpec,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    bytes: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let bytes = match bytes {
        Ok(bytes) => bytes,
        Err(rejection) => {
            let refused = BodyError::undecodable(rejection.body_text());
            let mut response = envelope(rejection.status(), refused.code, &refused.message);
            announce_profile(&shared, &mut response);
            return response;
        }
    };
    let started = Instant::now();
    let timeout = headers
        .get("Request-Timeout")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    // The request's timeout bounds the wait for the call to start: once it runs it is answered, so that a
    // committed change is never reported as a timeout.
    let turn = Arc::new(AtomicU8::new(WAITING));
    let work = {
        let shared = Arc::clone(&shared);
        let turn = Arc::clone(&turn);
        tokio::task::spawn_blocking(move || {
            turn.compare_exchange(WAITING, RUNNING, Ordering::AcqRel, Ordering::Acquire)
                .ok()
                .map(|_| run(&shared, spec, peer, &headers, &bytes))
        })
    };
    tokio::pin!(work);
    let outcome = match timeout {
        Some(limit) => match tokio::time::timeout(limit, &mut work).await {
            Ok(done) => Some(done),
            Err(_)
                if turn
                    .compare_exchange(WAITING, GIVEN_UP, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok() =>
            {
                None
            }
            Err(_) => Some(work.await),
        },
        None => Some(work.await),
    };
    let (mut response, user) = match outcome {
        Some(Ok(Some(done))) => done,
        // A panic in the call (or a skipped call, which only a given-up request has).
        Some(Ok(None) | Err(_)) => (
            envelope(StatusCode::INTERNAL_SERVER_ERROR, 65535, "internal error"),
            None,
        ),
        None => (
            envelope(StatusCode::REQUEST_TIMEOUT, 10001, "request timeout"),
            None,
        ),
    };
    announce_profile(&shared, &mut response);
    if shared.log_level >= LogLevel::Info {
        eprintln!(
            "POST {PREFIX}{} {} {:.1}ms user={}",
            spec.rest.map_or("", |route| route.path),
            response.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0,
            // Quoted with escapes: without authorization the name is whatever the client sent.
            user.as_deref()
                .map_or_else(|| "-".to_string(), |name| format!("{name:?}"))
        );
    }
    response
}

fn router(shared: Arc<Shared>) -> Router {
    let mut router =
        Router::new().route("/openapi.json", get(|| async { Json(openapi_document()) }));
    for spec in OPERATIONS {
        if let Some(route) = spec.rest {
            router = router.route(
                &format!("{PREFIX}{}", route.path),
                post(move |state, peer, headers, bytes| handle(state, spec, peer, headers, bytes)),
            );
        }
    }
    router
        .route(&format!("{SERVICE_PATH}{{rpc}}"), post(grpc::handle))
        .fallback(grpc::unknown_path)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(shared)
}

/// SIGINT and SIGTERM, registered at once (before the server is announced), so that a signal sent as soon as
/// the server says it is ready stops it gracefully.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
    })
}

/// Serve `registry` until SIGINT or SIGTERM; `ready` is told the bound address once it accepts connections.
pub fn serve(
    registry: Registry,
    config: &ServeConfig,
    ready: impl FnOnce(SocketAddr),
) -> Result<()> {
    let failed = |what: &str, err: std::io::Error| RbacError::Storage {
        message: format!(
            "cannot serve on {}:{}: {what}: {err}",
            config.host, config.port
        ),
    };
    let tls = config.tls.as_ref().map(tls::acceptor).transpose()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| failed("cannot start the runtime", err))?;
    let shared = Arc::new(Shared {
        registry,
        log_level: config.log_level,
        lockout: Lockout::new(config.logins),
    });
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind((config.host.as_str(), config.port))
            .await
            .map_err(|err| failed("cannot bind", err))?;
        let address = listener
            .local_addr()
            .map_err(|err| failed("no local address", err))?;
        let signal = shutdown_signal().map_err(|err| failed("cannot watch signals", err))?;
        // The signal starts a graceful stop, which waits for open connections; a client that never lets go
        // (an HTTP/2 connection whose client no longer answers) gets SHUTDOWN_GRACE, then the server exits.
        let (stopping, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            signal.await;
            let _ = stopping.send(true);
        });
        ready(address);
        listen::serve_connections(
            listener,
            router(shared),
            config.limits,
            tls,
            stopped,
            SHUTDOWN_GRACE,
        )
        .await;
        Ok(())
    })
}
