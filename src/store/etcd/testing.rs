//! A real etcd for the store's tests: one member on free loopback ports, started once per test process from
//! the `etcd` binary on the PATH (Debian's `etcd-server`; the README's test command installs it), and
//! stopped when the process ends. Without the binary, the etcd tests are skipped with a note, unless
//! `MILVUS_RBAC_TEST_ETCD=required` (CI) makes that a failure.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

struct Member {
    /// The shell that runs etcd and kills it when our end of its stdin closes (when this process ends,
    /// however it ends).
    _guard: Child,
    endpoint: String,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

fn start() -> Option<Member> {
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
    let data = std::env::temp_dir().join(format!("milvus-rbac-etcd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let script = format!(
        "{etcd} --name m --data-dir {data} --listen-client-urls http://127.0.0.1:{client} \
         --advertise-client-urls http://127.0.0.1:{client} --listen-peer-urls http://127.0.0.1:{peer} \
         --initial-advertise-peer-urls http://127.0.0.1:{peer} --initial-cluster m=http://127.0.0.1:{peer} \
         >{data}.log 2>&1 & member=$!; echo started; read _; kill -9 $member; rm -rf {data} {data}.log",
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
        .get_or_init(start)
        .as_ref()
        .map(|member| member.endpoint.clone())
}
