//! A registry on a server, reached through Milvus's gRPC protocol as pymilvus reaches it: `milvus-rbac serve`,
//! or a real Milvus of any version. Each request becomes the RPC pymilvus would send (`calls.rs`), and answers
//! and errors are mapped back to the values and errors an embedded registry gives.

mod calls;

use std::time::Duration;

use base64::Engine;
use prost::Message;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};

use crate::caller::{Caller, Credentials};
use crate::client_tls::{tonic_config, ClientTls};
use crate::error::{AuthFailure, LegacyCode, RbacError, Result, CODE_UNEXPECTED};
use crate::ops::{Executor, Reply, Request};
use crate::wire::grpc::pb::common::Status;
use crate::wire::grpc::{RawCodec, SERVICE_PATH};
use crate::wire::without_userinfo;

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one call may take, unless it gives a timeout of its own.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// A registry served over gRPC.
pub struct GrpcRegistry {
    /// The server's address without credentials, for messages and reprs.
    shown: String,
    /// Calls block on this runtime: the registry is called from plain threads (Python's, with the GIL
    /// released), never from async code.
    runtime: tokio::runtime::Runtime,
    channel: Channel,
}

/// An answer message and where it says how the call went: itself (`common.Status`) or its `status` field.
trait Answer: Message + Default {
    fn status(&self) -> Option<&Status>;
}

impl Answer for Status {
    fn status(&self) -> Option<&Status> {
        Some(self)
    }
}

macro_rules! answers_with_status {
    ($($answer:ident),* $(,)?) => {
        $(impl Answer for crate::wire::grpc::pb::milvus::$answer {
            fn status(&self) -> Option<&Status> {
                self.status.as_ref()
            }
        })*
    };
}

answers_with_status!(
    ConnectResponse,
    ListCredUsersResponse,
    SelectRoleResponse,
    SelectUserResponse,
    SelectGrantResponse,
    ListPrivilegeGroupsResponse,
    BackupRbacMetaResponse,
    ListDatabasesResponse,
);

fn unsupported(what: &str) -> RbacError {
    RbacError::Unsupported {
        message: format!("{what} is not available over Milvus's gRPC protocol"),
    }
}

impl GrpcRegistry {
    /// Connect to the server at `uri` (`http://host:port`) and check the credentials with Milvus's `Connect`, as
    /// pymilvus does when it connects.
    pub fn connect(
        uri: &str,
        credentials: &Credentials,
        db_name: &str,
        tls: &ClientTls,
    ) -> Result<(GrpcRegistry, Caller)> {
        let shown = without_userinfo(uri.trim_end_matches('/'));
        if matches!(credentials, Credentials::ApiKey) {
            return Err(RbacError::Authentication {
                reason: AuthFailure::BadApiKey,
            });
        }
        let unreachable = |detail: String| {
            RbacError::Remote {
            code: 2,
            message: format!(
                "Fail connecting to server on {shown}, illegal connection params or server unavailable: {detail}"
            ),
            legacy: LegacyCode::UnexpectedError,
        }
        };
        let secure = shown.starts_with("https://");
        if !secure && tls != &ClientTls::default() {
            return Err(RbacError::Param {
                message: "the TLS files apply to an https:// server".into(),
            });
        }
        // One worker keeps the connection's task running between calls (HTTP/2 pings, a server's GOAWAY).
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|err| unreachable(err.to_string()))?;
        let mut endpoint = Endpoint::from_shared(shown.clone())
            .map_err(|err| unreachable(err.to_string()))?
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(CALL_TIMEOUT);
        if secure {
            endpoint = endpoint
                .tls_config(tonic_config(tls)?)
                .map_err(|err| unreachable(err.to_string()))?;
        }
        let channel = runtime
            .block_on(endpoint.connect())
            .map_err(|err| unreachable(err.to_string()))?;
        let remote = GrpcRegistry {
            shown: shown.clone(),
            runtime,
            channel,
        };
        let caller = Caller::remote(credentials, db_name);
        remote
            .call::<_, crate::wire::grpc::pb::milvus::ConnectResponse>(
                &caller,
                "Connect",
                crate::wire::grpc::pb::milvus::ConnectRequest::default(),
                None,
            )
            .map_err(|err| match err {
                // pymilvus reports any failure of Connect as a failed connection.
                RbacError::Authentication { .. } => err,
                other => unreachable(other.to_string()),
            })?;
        Ok((remote, caller))
    }

    /// Call `rpc` with `request` for `caller`; a failed status, or a gRPC error, as the embedded registry's error.
    fn call<R: Message, A: Answer>(
        &self,
        caller: &Caller,
        rpc: &'static str,
        request: R,
        timeout: Option<f64>,
    ) -> Result<A> {
        self.call_encoded(caller, rpc, request.encode_to_vec(), timeout)
    }

    /// [`Self::call`] with the request already encoded.
    fn call_encoded<A: Answer>(
        &self,
        caller: &Caller,
        rpc: &'static str,
        request: Vec<u8>,
        timeout: Option<f64>,
    ) -> Result<A> {
        let mut call = tonic::Request::new(bytes::Bytes::from(request));
        if let Some(token) = caller.token() {
            let encoded = base64::engine::general_purpose::STANDARD.encode(token.as_bytes());
            if let Ok(value) = MetadataValue::try_from(encoded) {
                call.metadata_mut().insert("authorization", value);
            }
        }
        if let Ok(value) = MetadataValue::try_from(caller.db_name()) {
            if !caller.db_name().is_empty() {
                call.metadata_mut().insert("dbname", value);
            }
        }
        if let Some(limit) = timeout.and_then(|seconds| Duration::try_from_secs_f64(seconds).ok()) {
            call.set_timeout(limit);
        }
        let path = PathAndQuery::try_from(format!("{SERVICE_PATH}{rpc}")).map_err(|err| {
            RbacError::Remote {
                code: CODE_UNEXPECTED,
                message: err.to_string(),
                legacy: LegacyCode::UnexpectedError,
            }
        })?;
        let mut grpc = tonic::client::Grpc::new(self.channel.clone());
        let answer = self.runtime.block_on(async {
            grpc.ready().await.map_err(|err| {
                tonic::Status::unavailable(format!("the channel is not ready: {err}"))
            })?;
            grpc.unary(call, path, RawCodec).await
        });
        let bytes = answer.map_err(|status| self.transport_error(rpc, status))?;
        let answer = A::decode(bytes.into_inner()).map_err(|err| RbacError::Remote {
            code: CODE_UNEXPECTED,
            message: format!(
                "{} answered {rpc} with an undecodable message: {err}",
                self.shown
            ),
            legacy: LegacyCode::UnexpectedError,
        })?;
        match answer.status() {
            Some(status) if status.code != 0 || status.error_code != 0 => Err(RbacError::Remote {
                code: if status.code != 0 {
                    status.code
                } else {
                    status.error_code
                },
                message: status.reason.clone(),
                legacy: LegacyCode::from_value(status.error_code)
                    .unwrap_or(LegacyCode::UnexpectedError),
            }),
            _ => Ok(answer),
        }
    }

    /// A gRPC error as the embedded registry's: Milvus sends authentication failures and denials this way.
    fn transport_error(&self, rpc: &str, status: tonic::Status) -> RbacError {
        let message = status.message().to_string();
        match status.code() {
            tonic::Code::Unauthenticated => RbacError::Authentication {
                reason: [
                    AuthFailure::MissingAuthorization,
                    AuthFailure::BadApiKey,
                    AuthFailure::BadCredentials,
                ]
                .into_iter()
                .find(|reason| reason.to_string() == message)
                .unwrap_or(AuthFailure::BadCredentials),
            },
            tonic::Code::PermissionDenied => RbacError::RemoteDenied { message },
            tonic::Code::Unimplemented => RbacError::Unsupported {
                message: format!("the server at {} does not serve {rpc}: {message}", self.shown),
            },
            _ => RbacError::Remote {
                code: 2,
                message: format!(
                    "Fail connecting to server on {}, illegal connection params or server unavailable: {message}",
                    self.shown
                ),
                legacy: LegacyCode::UnexpectedError,
            },
        }
    }
}

impl Executor for GrpcRegistry {
    fn execute(&self, caller: &Caller, request: &Request) -> Result<Reply> {
        calls::execute(self, caller, request)
    }

    fn describe(&self) -> String {
        format!("server={:?}", self.shown)
    }
}
