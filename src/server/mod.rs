//! Milvus's RESTful API v2 for users, roles, privileges and privilege groups, served from a registry.
//!
//! Requests run on tokio; each registry call (argon2 and SQLite) runs on the blocking pool, so hashing never
//! stalls the event loop and reads proceed while a write waits for SQLite. Bodies over 1 MiB are refused with
//! 413 before they are read whole.

mod endpoints;
mod go_json;
mod openapi;
mod request;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::json;

use crate::error::{RbacError, Result};
use crate::registry::{Credentials, Registry, DEFAULT_DATABASE};
use endpoints::{Endpoint, Failure, Request, ENDPOINTS};
use request::{Body, BodyError};

pub use openapi::openapi_document;

/// The response header in which the server names its registry's profile, so that a remote client checks what
/// REST cannot carry by the same rules (real Milvus sends no such header).
pub const PROFILE_HEADER: &str = "milvus-rbac-profile";

/// The response header of `/users/describe` saying whether the user exists (`true` or `false`): Milvus's
/// envelope holds `[]` for a missing user and for a user without roles alike. An extension, beside Milvus's
/// body, which stays as Milvus sends it.
pub const USER_FOUND_HEADER: &str = "milvus-rbac-user-found";

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
}

struct Shared {
    registry: Registry,
    log_level: LogLevel,
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

/// Milvus's envelopes: errors are HTTP 200 with a code, but authentication (401) and denial (403).
fn failure_response(failure: Failure, basic: bool) -> Response {
    match failure {
        Failure::Body(err) => envelope(StatusCode::OK, err.code, &err.message),
        Failure::Registry(RbacError::Authentication { .. }) => {
            let mut response =
                envelope(StatusCode::UNAUTHORIZED, 1800, "user hasn't authenticated");
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
            &format!("rpc error: code = PermissionDenied desc = {err}"),
        ),
        Failure::Registry(err) => envelope(StatusCode::OK, err.code(), &err.to_string()),
    }
}

/// Authenticate, parse and run one request (on the blocking pool).
fn run(
    shared: &Shared,
    endpoint: &Endpoint,
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
    let outcome = (|| {
        // Milvus authenticates before it reads the body.
        let caller = shared.registry.authenticate(&credentials, &header_db)?;
        let body = Body::parse(endpoint.kind, bytes)?;
        body.bind(endpoint.fields)?;
        let db = body.text("dbName")?;
        let caller = if db.is_empty() {
            caller
        } else {
            caller.in_database(&db)
        };
        let request = Request {
            registry: &shared.registry,
            caller: &caller,
            body: &body,
            header_db: &header_db,
        };
        (endpoint.handler)(&request).map(|reply| (reply, caller.user().map(str::to_string)))
    })();
    match outcome {
        Ok((reply, user)) => {
            let mut envelope = json!({ "code": 0, "data": reply.data });
            // Milvus 2.6.19 puts a described user's or role's description beside the data.
            if let Some(description) = reply.description {
                envelope["description"] = json!(description);
            }
            let mut response = Json(envelope).into_response();
            if let Some(found) = reply.user_found {
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
    endpoint: &'static Endpoint,
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
    let work = {
        let shared = Arc::clone(&shared);
        tokio::task::spawn_blocking(move || run(&shared, endpoint, &headers, &bytes))
    };
    let outcome = match timeout {
        Some(limit) => tokio::time::timeout(limit, work).await.ok(),
        None => Some(work.await),
    };
    let (mut response, user) = match outcome {
        Some(Ok(done)) => done,
        Some(Err(_)) => (
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
            "POST /v2/vectordb{} {} {:.1}ms user={}",
            endpoint.path,
            response.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0,
            user.as_deref().unwrap_or("-")
        );
    }
    response
}

fn router(shared: Arc<Shared>) -> Router {
    let mut router =
        Router::new().route("/openapi.json", get(|| async { Json(openapi_document()) }));
    for endpoint in ENDPOINTS {
        router = router.route(
            &format!("/v2/vectordb{}", endpoint.path),
            post(move |state, headers, bytes| handle(state, endpoint, headers, bytes)),
        );
    }
    router
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| failed("cannot start the runtime", err))?;
    let shared = Arc::new(Shared {
        registry,
        log_level: config.log_level,
    });
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind((config.host.as_str(), config.port))
            .await
            .map_err(|err| failed("cannot bind", err))?;
        let address = listener
            .local_addr()
            .map_err(|err| failed("no local address", err))?;
        let stop = shutdown_signal().map_err(|err| failed("cannot watch signals", err))?;
        ready(address);
        axum::serve(listener, router(shared))
            .with_graceful_shutdown(stop)
            .await
            .map_err(|err| failed("stopped", err))
    })
}
