//! A small client of etcd's v3 API: ranges and transactions over gRPC, to any member of a cluster, with
//! etcd's password login and TLS. Calls block (the store is called from plain threads) and each ends within
//! the configured timeout, whatever the cluster does.
//!
//! Written here rather than taken from `etcd-client`, which needs a `protoc` binary to build: the README's
//! install command must work with nothing but pip and cargo.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use prost::Message;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};

use super::pb::{
    AuthenticateRequest, AuthenticateResponse, LeaseGrantRequest, LeaseGrantResponse, RangeRequest,
    RangeResponse, TxnRequest, TxnResponse,
};
use super::EtcdOptions;
use crate::error::{RbacError, Result};
use crate::wire::grpc::RawCodec;

/// The least time one attempt on one member gets.
const MIN_ATTEMPT: Duration = Duration::from_millis(500);

/// A call's answer, or why there is none.
#[derive(Debug)]
pub(super) enum CallError {
    /// etcd answered with an error that says the request was not applied (a bad request, no permission).
    Refused(String),
    /// No answer within the timeout, or the connection failed: a transaction may or may not have been
    /// applied.
    Unknown(String),
}

impl CallError {
    pub(super) fn into_storage(self, shown: &str) -> RbacError {
        let detail = match self {
            CallError::Refused(detail) | CallError::Unknown(detail) => detail,
        };
        RbacError::Storage {
            message: format!("etcd at {shown}: {detail}"),
        }
    }
}

/// The members of one cluster, tried in turn.
pub(super) struct EtcdClient {
    /// The endpoints as given, for messages.
    pub(super) shown: String,
    runtime: tokio::runtime::Runtime,
    channels: Vec<Channel>,
    /// The member that answered last: tried first.
    preferred: AtomicUsize,
    pub(super) timeout: Duration,
    login: Option<(String, String)>,
    token: Mutex<Option<String>>,
}

impl EtcdClient {
    pub(super) fn connect(endpoints: &[String], options: &EtcdOptions) -> Result<EtcdClient> {
        let shown = endpoints.join(",");
        let fail = |detail: String| RbacError::Storage {
            message: format!("etcd at {shown}: {detail}"),
        };
        // One worker keeps the connections' tasks running between calls (HTTP/2 pings, reconnects).
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|err| fail(err.to_string()))?;
        // TLS as the gRPC client makes it (the files are read now).
        let tls = options
            .tls
            .as_ref()
            .map(crate::client_tls::tonic_config)
            .transpose()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mut channels = Vec::new();
        for endpoint in endpoints {
            let mut built = Endpoint::from_shared(format!("{scheme}://{endpoint}"))
                .map_err(|err| fail(format!("{endpoint} is not a host:port ({err})")))?
                .connect_timeout(options.timeout)
                .timeout(options.timeout)
                .http2_keep_alive_interval(Duration::from_secs(10))
                .keep_alive_timeout(options.timeout);
            if let Some(tls) = &tls {
                built = built
                    .tls_config(tls.clone())
                    .map_err(|err| fail(err.to_string()))?;
            }
            // Connected at the first call, and again after a failure.
            let _guard = runtime.enter();
            channels.push(built.connect_lazy());
        }
        Ok(EtcdClient {
            shown,
            runtime,
            channels,
            preferred: AtomicUsize::new(0),
            timeout: options.timeout,
            login: options.user.clone(),
            token: Mutex::new(None),
        })
    }

    pub(super) fn range(
        &self,
        request: &RangeRequest,
    ) -> std::result::Result<RangeResponse, CallError> {
        self.call("/etcdserverpb.KV/Range", request)
    }

    pub(super) fn txn(&self, request: &TxnRequest) -> std::result::Result<TxnResponse, CallError> {
        self.call("/etcdserverpb.KV/Txn", request)
    }

    pub(super) fn lease_grant(
        &self,
        request: &LeaseGrantRequest,
    ) -> std::result::Result<LeaseGrantResponse, CallError> {
        self.call("/etcdserverpb.Lease/LeaseGrant", request)
    }

    /// Call `path` on the preferred member, then on the others, until one answers or the timeout passes.
    /// An answer that says the request was refused is final; a member that cannot serve it (down, no
    /// leader, no quorum) hands it to the next.
    fn call<R: Message, A: Message + Default>(
        &self,
        path: &'static str,
        request: &R,
    ) -> std::result::Result<A, CallError> {
        let deadline = Instant::now() + self.timeout;
        let body = Bytes::from(request.encode_to_vec());
        let mut last = String::from("no member answered");
        let mut tried_login = false;
        let first = self.preferred.load(Ordering::Relaxed);
        let mut attempt = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(CallError::Unknown(format!(
                    "no answer within {:?} ({last})",
                    self.timeout
                )));
            }
            let member = (first + attempt) % self.channels.len();
            let token = match self.token(member, left) {
                Ok(token) => token,
                Err(CallError::Refused(detail)) => return Err(CallError::Refused(detail)),
                Err(CallError::Unknown(detail)) => {
                    last = detail;
                    attempt += 1;
                    self.pause(attempt, self.channels.len());
                    continue;
                }
            };
            // A member that hangs (electing a leader, cut off from the others) must not take the whole budget:
            // one attempt gets half of what is left, so that the others are tried in time.
            let attempt_budget = if self.channels.len() > 1 {
                (left / 2).max(MIN_ATTEMPT).min(left)
            } else {
                left
            };
            match self.unary(member, path, body.clone(), token.as_deref(), attempt_budget) {
                Ok(bytes) => {
                    self.preferred.store(member, Ordering::Relaxed);
                    return A::decode(bytes).map_err(|err| {
                        CallError::Refused(format!("an undecodable answer to {path}: {err}"))
                    });
                }
                Err(status) => {
                    let message = status.message().to_string();
                    match status.code() {
                        // A token expires (etcd's simple tokens after 5 minutes): log in again, once.
                        tonic::Code::Unauthenticated
                            if self.login.is_some()
                                && !tried_login
                                && message.contains("invalid auth token") =>
                        {
                            tried_login = true;
                            *lock(&self.token) = None;
                        }
                        tonic::Code::InvalidArgument
                        | tonic::Code::PermissionDenied
                        | tonic::Code::Unauthenticated
                        | tonic::Code::FailedPrecondition
                        | tonic::Code::OutOfRange
                        | tonic::Code::ResourceExhausted => {
                            return Err(CallError::Refused(message));
                        }
                        _ => {
                            last = format!("{}: {message}", self.member_name(member));
                            attempt += 1;
                            self.pause(attempt, self.channels.len());
                        }
                    }
                }
            }
        }
    }

    /// After a round of every member, wait a little before the next: a cluster electing a leader answers
    /// again within a second or two.
    fn pause(&self, attempt: usize, members: usize) {
        if attempt % members == 0 {
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn member_name(&self, member: usize) -> String {
        self.shown
            .split(',')
            .nth(member)
            .unwrap_or_default()
            .to_string()
    }

    /// The auth token to send, logging in first if etcd's password auth is configured.
    fn token(
        &self,
        member: usize,
        left: Duration,
    ) -> std::result::Result<Option<String>, CallError> {
        let Some((user, password)) = &self.login else {
            return Ok(None);
        };
        if let Some(token) = lock(&self.token).clone() {
            return Ok(Some(token));
        }
        let request = AuthenticateRequest {
            name: user.clone(),
            password: password.clone(),
        };
        let answer = self
            .unary(
                member,
                "/etcdserverpb.Auth/Authenticate",
                Bytes::from(request.encode_to_vec()),
                None,
                left,
            )
            .map_err(|status| match status.code() {
                tonic::Code::InvalidArgument
                | tonic::Code::PermissionDenied
                | tonic::Code::Unauthenticated
                | tonic::Code::FailedPrecondition => {
                    CallError::Refused(format!("logging in as {user:?}: {}", status.message()))
                }
                _ => CallError::Unknown(format!(
                    "{}: {}",
                    self.member_name(member),
                    status.message()
                )),
            })?;
        let token = AuthenticateResponse::decode(answer)
            .map_err(|err| CallError::Refused(format!("an undecodable login answer: {err}")))?
            .token;
        *lock(&self.token) = Some(token.clone());
        Ok(Some(token))
    }

    fn unary(
        &self,
        member: usize,
        path: &'static str,
        body: Bytes,
        token: Option<&str>,
        left: Duration,
    ) -> std::result::Result<Bytes, tonic::Status> {
        let mut call = tonic::Request::new(body);
        call.set_timeout(left);
        if let Some(token) = token {
            if let Ok(value) = MetadataValue::try_from(token) {
                call.metadata_mut().insert("token", value);
            }
        }
        let mut grpc = tonic::client::Grpc::new(self.channels[member].clone());
        let path = PathAndQuery::from_static(path);
        self.runtime.block_on(async {
            let ready = tokio::time::timeout(left, grpc.ready()).await;
            match ready {
                Ok(Ok(())) => {}
                Ok(Err(err)) => return Err(tonic::Status::unavailable(err.to_string())),
                Err(_) => return Err(tonic::Status::deadline_exceeded("not connected in time")),
            }
            grpc.unary(call, path, RawCodec)
                .await
                .map(tonic::Response::into_inner)
        })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
