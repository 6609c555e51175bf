//! A real etcd for the store's tests: one member on free loopback ports, started once per test process from
//! the `etcd` binary on the PATH (Debian's `etcd-server`; the README's test command installs it), and
//! stopped when the process ends; members of their own for tests that change a member (its auth), stopped
//! when dropped; and a proxy that loses one answer. Without the binary, the etcd tests are skipped with a
//! note, unless `MILVUS_RBAC_TEST_ETCD=required` (CI) makes that a failure.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// A running etcd member, stopped when dropped.
pub struct Member {
    /// The shell that runs etcd and kills it when our end of its stdin closes (when this is dropped, or this
    /// process ends, however it ends).
    _guard: Child,
    /// Its client `host:port`.
    pub endpoint: String,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

/// A member of its own, started with etcd's `extra_flags` (words separated by spaces); `None` without an etcd
/// binary (a failure if `MILVUS_RBAC_TEST_ETCD=required`).
pub fn start(extra_flags: &str) -> Option<Member> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("etcd"))
            .find(|path| path.is_file())
    });
    let Some(binary) = found else {
        assert_ne!(
            std::env::var("MILVUS_RBAC_TEST_ETCD").as_deref(),
            Ok("required"),
            "MILVUS_RBAC_TEST_ETCD=required, and there is no etcd on the PATH"
        );
        eprintln!("note: no etcd on the PATH: the etcd store's tests are skipped");
        return None;
    };
    let (client, peer) = (free_port(), free_port());
    static STARTED: AtomicUsize = AtomicUsize::new(0);
    let data = std::env::temp_dir().join(format!(
        "milvus-rbac-etcd-{}-{}",
        std::process::id(),
        STARTED.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&data);
    let script = format!(
        "{etcd} --name m --data-dir {data} --listen-client-urls http://127.0.0.1:{client} \
         --advertise-client-urls http://127.0.0.1:{client} --listen-peer-urls http://127.0.0.1:{peer} \
         --initial-advertise-peer-urls http://127.0.0.1:{peer} --initial-cluster m=http://127.0.0.1:{peer} \
         {extra_flags} >{data}.log 2>&1 & member=$!; echo started; read _; kill -9 $member; rm -rf {data} {data}.log",
        etcd = binary.display(),
        data = data.display(),
    );
    let mut guard = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sh starts");
    let mut started = String::new();
    BufReader::new(guard.stdout.take().expect("piped"))
        .read_line(&mut started)
        .expect("the guard reports");
    let endpoint = format!("127.0.0.1:{client}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(&endpoint).is_err() {
        assert!(
            Instant::now() < deadline,
            "etcd did not listen on {endpoint} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Member {
        _guard: guard,
        endpoint,
    })
}

/// The test member's `host:port`, if there is an etcd to run.
pub fn endpoint() -> Option<String> {
    static MEMBER: OnceLock<Option<Member>> = OnceLock::new();
    MEMBER
        .get_or_init(|| start(""))
        .as_ref()
        .map(|member| member.endpoint.clone())
}

/// How long a [`LosingProxy`] keeps a connection silent after losing an answer, before closing it.
const HOLD: Duration = Duration::from_millis(1500);

/// A TCP proxy to an etcd member that can lose one answer, as a member that applied a request and then failed
/// does: armed, it drops what etcd sends next (etcd has applied the request by then), keeps the connection
/// silent for `HOLD`, then closes it. The client's next connection passes.
pub struct LosingProxy {
    /// The proxy's `host:port`.
    pub endpoint: String,
    armed: Arc<AtomicBool>,
}

impl LosingProxy {
    /// A proxy to `target` (`host:port`), serving until the process ends.
    pub fn start(target: &str) -> LosingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let endpoint = listener.local_addr().expect("bound").to_string();
        let armed = Arc::new(AtomicBool::new(false));
        let (target, answers_armed) = (target.to_string(), Arc::clone(&armed));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let (Ok(client), Ok(upstream)) = (client, TcpStream::connect(&target)) else {
                    continue;
                };
                let (Ok(client_copy), Ok(upstream_copy)) =
                    (client.try_clone(), upstream.try_clone())
                else {
                    continue;
                };
                pump(client_copy, upstream_copy, None);
                pump(upstream, client, Some(Arc::clone(&answers_armed)));
            }
        });
        LosingProxy { endpoint, armed }
    }

    /// Lose the next answer etcd sends.
    pub fn lose_next_answer(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }
}

/// Copy `from` to `to` on a thread of its own until either closes; answers (etcd to client) may be lost.
fn pump(mut from: TcpStream, mut to: TcpStream, lose: Option<Arc<AtomicBool>>) {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 64 * 1024];
        while let Ok(read @ 1..) = from.read(&mut buffer) {
            if lose
                .as_ref()
                .is_some_and(|armed| armed.swap(false, Ordering::SeqCst))
            {
                std::thread::sleep(HOLD);
                break;
            }
            if to.write_all(&buffer[..read]).is_err() {
                break;
            }
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    });
}

/// Turn on etcd's password auth at `endpoint`, with its `root` user's password `password`, through etcd's JSON
/// gateway to its v3 API (which this project's client does not speak: it never administers etcd).
pub fn enable_auth(endpoint: &str, password: &str) {
    for (path, body) in [
        (
            "/v3/auth/user/add",
            format!(r#"{{"name": "root", "password": "{password}"}}"#),
        ),
        (
            "/v3/auth/user/grant",
            r#"{"user": "root", "role": "root"}"#.to_string(),
        ),
        ("/v3/auth/enable", "{}".to_string()),
    ] {
        let mut connection = TcpStream::connect(endpoint).expect("etcd listens");
        write!(
            connection,
            "POST {path} HTTP/1.1\r\nHost: {endpoint}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("the request is sent");
        let mut answer = String::new();
        connection
            .read_to_string(&mut answer)
            .expect("etcd answers");
        assert!(answer.starts_with("HTTP/1.1 200"), "{path}: {answer}");
    }
}
