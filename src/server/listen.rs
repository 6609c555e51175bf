//! Accepting connections within bounds: at most `max_connections` open at once, each closed when it has moved no
//! byte either way for `idle_timeout`, and an HTTP/1 request whose headers do not arrive within `header_timeout`
//! refused. A client that opens sockets and sends nothing (or stalls mid-request) cannot hold the server's
//! descriptors for ever, and once at the limit, new connections wait in the listen backlog rather than fail.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::{Extension, Router};

use super::Peer;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

/// How long a connection closed for idleness may take to finish what it has in hand.
const CLOSING_GRACE: Duration = Duration::from_secs(1);
/// How long to wait before accepting again after the process ran out of descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// Descriptors kept for the registry's files and the runtime when the limit is derived from the process's.
const RESERVED_DESCRIPTORS: u64 = 32;

/// The bounds on connections (`milvus-rbac serve --max-connections/--idle-timeout/--header-timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// `None`: the process's descriptor limit less a reserve (at least 16).
    pub max_connections: Option<usize>,
    pub idle_timeout: Duration,
    pub header_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: None,
            idle_timeout: Duration::from_secs(60),
            header_timeout: Duration::from_secs(10),
        }
    }
}

impl ConnectionLimits {
    /// How many connections may be open at once.
    pub fn connections(&self) -> usize {
        self.max_connections.unwrap_or_else(|| {
            let mut limit = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit writes the limit into the struct it is given, which lives for the call.
            let known = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
            let descriptors = if known && limit.rlim_cur != libc::RLIM_INFINITY {
                limit.rlim_cur
            } else {
                1 << 16
            };
            usize::try_from(descriptors.saturating_sub(RESERVED_DESCRIPTORS).max(16))
                .unwrap_or(usize::MAX)
        })
    }
}

/// When a connection last moved a byte, in milliseconds since `since`.
struct Activity {
    since: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            since: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(now, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.since + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }

    /// Completes once nothing has moved for `idle`.
    async fn idle_for(&self, idle: Duration) {
        loop {
            let deadline = self.last() + idle;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// A socket that records its activity.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// One accepted connection, and what serving it needs.
struct Connection {
    builder: Arc<auto::Builder<TokioExecutor>>,
    app: Router,
    peer: Peer,
    activity: Arc<Activity>,
    limits: ConnectionLimits,
    stop: watch::Receiver<bool>,
    grace: Duration,
}

impl Connection {
    /// Serve HTTP/1.1 or HTTP/2 on `io` until the client closes it, it falls idle, or the server stops.
    async fn serve<IO>(mut self, io: IO)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let service = TowerToHyperService::new(self.app.layer(Extension(self.peer)));
        let connection = self
            .builder
            .serve_connection_with_upgrades(TokioIo::new(io), service);
        tokio::pin!(connection);
        let finishing = tokio::select! {
            _ = connection.as_mut() => return,
            _ = self.activity.idle_for(self.limits.idle_timeout) => CLOSING_GRACE,
            _ = self.stop.wait_for(|stopping| *stopping) => self.grace,
        };
        // Idle, or the server stops: say goodbye (GOAWAY, or close after the response in hand).
        connection.as_mut().graceful_shutdown();
        let _ = tokio::time::timeout(finishing, connection).await;
    }
}

/// Serve `app` on `listener` within `limits` (over TLS with `tls`) until `stop` turns true; then stop
/// accepting, let open connections finish for `grace`, and return.
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    tls: Option<TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) {
    let slots = Arc::new(Semaphore::new(limits.connections()));
    let total = slots.available_permits();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            _ = stop.wait_for(|stopping| *stopping) => break,
        };
        let (stream, address) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, address)) => (stream, address),
                // Out of descriptors (or a connection reset before it was accepted): the waiting connections
                // stay in the backlog until a descriptor is free.
                Err(_) => {
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            _ = stop.wait_for(|stopping| *stopping) => break,
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let watched = Watched {
            stream,
            activity: Arc::clone(&activity),
        };
        let connection = Connection {
            builder: Arc::clone(&builder),
            app: app.clone(),
            peer: Peer(Some(address.ip())),
            activity,
            limits,
            stop: stop.clone(),
            grace,
        };
        let tls = tls.clone();
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                None => connection.serve(watched).await,
                // The handshake is bounded as a request's headers are: a client that stalls in it is dropped.
                Some(acceptor) => {
                    let accepted =
                        tokio::time::timeout(limits.header_timeout, acceptor.accept(watched)).await;
                    // A plain-text client, a wrong or missing client certificate: the handshake fails and the
                    // connection closes.
                    if let Ok(Ok(secured)) = accepted {
                        connection.serve(secured).await;
                    }
                }
            }
        });
    }
    // New connections are refused from now on, not left waiting in the backlog.
    drop(listener);
    // Every connection holds a slot until it is done: wait for all of them, for at most `grace`.
    let all = u32::try_from(total).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(grace, slots.acquire_many(all)).await;
}
