//! Milvus's gRPC protocol (`milvus.proto.milvus.MilvusService`), served beside the REST API on the same port,
//! as Milvus serves both on 19530. tonic does the framing; one handler takes every method by name, reads the
//! caller from the `authorization` and `dbname` metadata, and runs the call on the blocking pool (argon2 and
//! SQLite never stall the event loop). What each RPC means is in `rpcs`.

pub(super) mod rpcs;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use tonic::metadata::MetadataMap;

use super::{LogLevel, Peer, Shared};
use crate::caller::Credentials;
use crate::model::DEFAULT_DATABASE;
use crate::wire::grpc::RawCodec;

/// The credentials of a call: the `authorization` metadata, standard base64 of `user:password` (or of an API
/// key). An undecodable value is no valid credential either.
fn credentials(metadata: &MetadataMap) -> Credentials {
    let Some(value) = metadata.get("authorization") else {
        return Credentials::Missing;
    };
    let decoded = value.to_str().ok().and_then(|text| {
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .ok()
    });
    match decoded.and_then(|bytes| String::from_utf8(bytes).ok()) {
        Some(token) if !token.is_empty() => Credentials::parse("", "", &token),
        _ => Credentials::ApiKey,
    }
}

/// The call's database: the `dbname` metadata, `default` when absent or empty.
fn database(metadata: &MetadataMap) -> String {
    metadata
        .get("dbname")
        .and_then(|value| value.to_str().ok())
        .filter(|db| !db.is_empty())
        .unwrap_or(DEFAULT_DATABASE)
        .to_string()
}

/// One call of `rpc`, for tonic.
struct Call {
    shared: Arc<Shared>,
    rpc: String,
    peer: Peer,
}

type Answer = Result<tonic::Response<Bytes>, tonic::Status>;

impl tonic::server::UnaryService<Bytes> for Call {
    type Response = Bytes;
    type Future = Pin<Box<dyn Future<Output = Answer> + Send>>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let shared = Arc::clone(&self.shared);
        let rpc = std::mem::take(&mut self.rpc);
        let peer = self.peer;
        Box::pin(async move {
            let started = Instant::now();
            let credentials = credentials(request.metadata());
            let db = database(request.metadata());
            let body = request.into_inner();
            let work = {
                let (shared, rpc) = (Arc::clone(&shared), rpc.clone());
                tokio::task::spawn_blocking(move || {
                    // One look at the registry's state for both (see `Store::within_call`).
                    let answered = shared.registry.within_call(|| {
                        let authenticated = shared.authenticate(&credentials, &db, peer);
                        Ok(rpcs::answer(&shared.registry, &rpc, authenticated, &body))
                    });
                    // The registry's state could not be read (etcd unreachable): answered as any failure
                    // to authenticate against it is.
                    answered
                        .unwrap_or_else(|err| rpcs::answer(&shared.registry, &rpc, Err(err), &body))
                })
            };
            let outcome = work
                .await
                .unwrap_or_else(|_| Err(tonic::Status::unknown("internal error")));
            if shared.log_level >= LogLevel::Info {
                eprintln!(
                    // The method name comes from the request's path: quoted with escapes.
                    "gRPC {rpc:?} {} {:.1}ms",
                    outcome
                        .as_ref()
                        .map_or_else(|status| format!("{:?}", status.code()), |_| "OK".into()),
                    started.elapsed().as_secs_f64() * 1000.0,
                );
            }
            outcome.map(|bytes| tonic::Response::new(Bytes::from(bytes)))
        })
    }
}

/// Every method of Milvus's service: those served answer, the others say they are not served.
pub(super) async fn handle(
    State(shared): State<Arc<Shared>>,
    Path(rpc): Path<String>,
    request: Request,
) -> Response {
    let peer = request
        .extensions()
        .get::<Peer>()
        .copied()
        .unwrap_or(Peer(None));
    let mut grpc = tonic::server::Grpc::new(RawCodec);
    grpc.unary(Call { shared, rpc, peer }, request)
        .await
        .map(Body::new)
        .into_response()
}

/// Any other path: for a gRPC call (another service, such as the SDKs' `ClientTelemetryService`), gRPC's
/// `UNIMPLEMENTED` as Milvus answers it; for anything else, HTTP 404.
pub(super) async fn unknown_path(request: Request) -> Response {
    let is_grpc = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|kind| kind.starts_with("application/grpc"));
    if !is_grpc {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    }
    let service = request
        .uri()
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    tonic::Status::unimplemented(format!("unknown service {service}"))
        .into_http::<Body>()
        .into_response()
}
