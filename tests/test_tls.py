"""TLS on `milvus-rbac serve`, as Milvus offers it (issue 14): one-way (tlsMode 1: `--server-pem-path` and
`--server-key-path`) and mutual (tlsMode 2: `--ca-pem-path` too), for gRPC and REST on the one port.

Certificates are made in the test with the `openssl` command: a CA, a server certificate for `localhost` and
127.0.0.1 signed by it, a client certificate signed by it, and a second CA nobody trusts. The clients are the real
ones: pymilvus (`server_pem_path`/`server_name`, and `ca_pem_path`/`client_pem_path`/`client_key_path`), curl,
and a plain-text client, which is refused.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
from server_fixtures import FAST, spawn

pymilvus = pytest.importorskip("pymilvus")
pytestmark = pytest.mark.usefixtures("quiet_pymilvus")

ROOT = "root:Milvus"
ANNOUNCEMENT = re.compile(r"^milvus-rbac serving .+ on (?P<url>(?P<scheme>https?)://(?P<host>[^\s:]+):(?P<port>\d+))$")
# A TLS client that is refused must be told within this (pymilvus retries some failures).
REFUSAL_TIMEOUT_S = 10


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    if shutil.which("openssl") is None:
        pytest.fail("the TLS tests need the `openssl` command", pytrace=False)
    where = tmp_path_factory.mktemp("tls")
    days = ["-days", "2"]
    for ca in ("ca", "stranger_ca"):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{ca}.key", "-out", f"{ca}.pem",
                 "-subj", f"/CN=milvus-rbac test {ca}", *days, cwd=where)
    (where / "server.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    (where / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for leaf, ca in (("server", "ca"), ("client", "ca"), ("stranger", "stranger_ca")):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{leaf}.key", "-out", f"{leaf}.csr",
                 "-subj", f"/CN={'localhost' if leaf == 'server' else leaf}", cwd=where)
        extensions = ["-extfile", "server.ext"] if leaf == "server" else ["-extfile", "client.ext"]
        _openssl("x509", "-req", "-in", f"{leaf}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
                 "-CAcreateserial", "-out", f"{leaf}.pem", *days, *extensions, cwd=where)
    return {name: where / name for name in
            ("ca.pem", "server.pem", "server.key", "client.pem", "client.key", "stranger.pem", "stranger.key")}


class TlsServer:
    def __init__(self, proc: "subprocess.Popen[bytes]", url: str, port: int):
        self.proc, self.url, self.port = proc, url, port

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def _start(tmp_path: Path, *flags: str) -> TlsServer:
    proc, stderr = spawn(str(tmp_path / "rbac.db"), "--password-hash", "fast", "--log-level", "error", *flags,
                         cwd=tmp_path)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode().strip()
    match = ANNOUNCEMENT.match(line)
    if not match:
        proc.kill()
        proc.wait(10)
        pytest.fail(f"no announcement: {line!r}\n{stderr.read_text()}", pytrace=False)
    return TlsServer(proc, match.group("url"), int(match.group("port")))


@pytest.fixture
def one_way(tmp_path: Path, certificates: Dict[str, Path]) -> Iterator[TlsServer]:
    server = _start(tmp_path, "--server-pem-path", str(certificates["server.pem"]),
                    "--server-key-path", str(certificates["server.key"]))
    yield server
    server.stop()


@pytest.fixture
def mutual(tmp_path: Path, certificates: Dict[str, Path]) -> Iterator[TlsServer]:
    server = _start(tmp_path, "--server-pem-path", str(certificates["server.pem"]),
                    "--server-key-path", str(certificates["server.key"]), "--ca-pem-path", str(certificates["ca.pem"]))
    yield server
    server.stop()


def _walk_through(client: "pymilvus.MilvusClient") -> None:
    client.create_user("user_1", "P@ssw0rd")
    client.update_password("user_1", "P@ssw0rd", "NewP@ssw0rd")
    assert client.list_users() == ["root", "user_1"]
    client.create_role("role_a")
    assert client.list_roles() == ["admin", "public", "role_a"]


def _curl(url: str, *options: str) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(["curl", "-sS", "--max-time", "10", "-X", "POST", f"{url}/v2/vectordb/users/list",
                           "-H", f"Authorization: Bearer {ROOT}", "-H", "Content-Type: application/json", "-d", "{}",
                           *options], capture_output=True, text=True, timeout=30)


def test_one_way_tls_serves_pymilvus_and_curl(one_way: TlsServer, certificates: Dict[str, Path]) -> None:
    assert one_way.url.startswith("https://")
    client = pymilvus.MilvusClient(one_way.url, token=ROOT, server_pem_path=str(certificates["ca.pem"]),
                                   server_name="localhost")
    try:
        _walk_through(client)
    finally:
        client.close()
    done = _curl(one_way.url, "--cacert", str(certificates["ca.pem"]))
    assert done.returncode == 0, done.stderr
    assert '"code":0' in done.stdout and "user_1" in done.stdout
    done = _curl(one_way.url, "--cacert", str(certificates["ca.pem"]), "--http1.1")
    assert done.returncode == 0 and '"code":0' in done.stdout, done.stderr


def test_a_plain_text_client_is_refused(one_way: TlsServer) -> None:
    plain = one_way.url.replace("https://", "http://")
    done = _curl(plain)
    assert done.returncode != 0 and '"code"' not in done.stdout, done.stdout
    with pytest.raises(pymilvus.MilvusException) as refused:
        pymilvus.MilvusClient(plain, token=ROOT, timeout=REFUSAL_TIMEOUT_S)
    assert refused.value.code == 2  # pymilvus: cannot connect
    with socket.create_connection(("127.0.0.1", one_way.port), timeout=10) as sock:
        sock.sendall(b"POST /v2/vectordb/users/list HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        answer = b""
        while True:
            data = sock.recv(4096)
            if not data:
                break
            answer += data
        assert b"HTTP/1.1 200" not in answer and b"users" not in answer, answer


def test_a_client_that_does_not_trust_the_server_is_refused(one_way: TlsServer, certificates: Dict[str, Path]) -> None:
    done = _curl(one_way.url, "--cacert", str(certificates["stranger.pem"]))
    assert done.returncode != 0 and '"code"' not in done.stdout
    with pytest.raises(pymilvus.MilvusException) as refused:
        pymilvus.MilvusClient(one_way.url, token=ROOT, server_pem_path=str(certificates["stranger.pem"]),
                              server_name="localhost", timeout=REFUSAL_TIMEOUT_S)
    assert refused.value.code == 2


def test_mutual_tls_serves_clients_with_a_certificate_of_the_ca(mutual: TlsServer,
                                                                certificates: Dict[str, Path]) -> None:
    client = pymilvus.MilvusClient(mutual.url, token=ROOT, ca_pem_path=str(certificates["ca.pem"]),
                                   client_pem_path=str(certificates["client.pem"]),
                                   client_key_path=str(certificates["client.key"]), server_name="localhost")
    try:
        _walk_through(client)
    finally:
        client.close()
    done = _curl(mutual.url, "--cacert", str(certificates["ca.pem"]), "--cert", str(certificates["client.pem"]),
                 "--key", str(certificates["client.key"]))
    assert done.returncode == 0 and "user_1" in done.stdout, done.stderr


@pytest.mark.parametrize("identity", ["none", "stranger"])
def test_mutual_tls_refuses_clients_without_a_certificate_of_the_ca(
    mutual: TlsServer, certificates: Dict[str, Path], identity: str
) -> None:
    options: List[str] = ["--cacert", str(certificates["ca.pem"])]
    if identity == "stranger":
        options += ["--cert", str(certificates["stranger.pem"]), "--key", str(certificates["stranger.key"])]
    done = _curl(mutual.url, *options)
    assert done.returncode != 0 and '"code"' not in done.stdout, done.stdout
    kwargs = {"ca_pem_path": str(certificates["ca.pem"]), "server_name": "localhost"}
    if identity == "stranger":
        kwargs.update(client_pem_path=str(certificates["stranger.pem"]),
                      client_key_path=str(certificates["stranger.key"]))
    else:
        kwargs = {"server_pem_path": str(certificates["ca.pem"]), "server_name": "localhost"}
    with pytest.raises(pymilvus.MilvusException) as refused:
        pymilvus.MilvusClient(mutual.url, token=ROOT, timeout=REFUSAL_TIMEOUT_S, **kwargs)
    assert refused.value.code == 2


@pytest.mark.parametrize("files", [("server.pem", "missing.key"), ("server.key", "server.key"),
                                   ("server.pem", "server.pem")])
def test_unusable_tls_files_stop_the_server_with_a_clear_error(tmp_path: Path, certificates: Dict[str, Path],
                                                               files: tuple) -> None:
    pem, key = (certificates.get(name, tmp_path / name) for name in files)
    done = subprocess.run([*FAST, "serve", "--db", str(tmp_path / "x.db"), "--port", "0",
                           "--server-pem-path", str(pem), "--server-key-path", str(key)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode != 0
    assert "cannot use the server" in done.stderr, done.stderr


def test_tls_needs_both_files(tmp_path: Path, certificates: Dict[str, Path]) -> None:
    done = subprocess.run([*FAST, "serve", "--db", str(tmp_path / "x.db"), "--port", "0",
                           "--server-pem-path", str(certificates["server.pem"])],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode != 0 and "server_key_path" in done.stderr, done.stderr


# ---------------------------------------------------------------------------------------------------------------
# Our own client over https://, with pymilvus's TLS arguments (gRPC, its default protocol).


def test_our_client_over_one_way_tls(one_way: TlsServer, certificates: Dict[str, Path]) -> None:
    import milvus_rbac

    with milvus_rbac.MilvusClient(one_way.url, token=ROOT, server_pem_path=str(certificates["ca.pem"]),
                                  server_name="localhost") as client:
        _walk_through(client)
        assert client.describe_user("user_1")["roles"] == ()
    with pytest.raises(milvus_rbac.MilvusException) as refused:
        milvus_rbac.MilvusClient(one_way.url, token=ROOT, server_pem_path=str(certificates["stranger.pem"]),
                                 server_name="localhost")
    assert refused.value.code == 2


def test_our_client_over_mutual_tls(mutual: TlsServer, certificates: Dict[str, Path]) -> None:
    import milvus_rbac

    tls = {"ca_pem_path": str(certificates["ca.pem"]), "server_name": "localhost"}
    with milvus_rbac.MilvusClient(mutual.url, token=ROOT, client_pem_path=str(certificates["client.pem"]),
                                  client_key_path=str(certificates["client.key"]), **tls) as client:
        _walk_through(client)
    with pytest.raises(milvus_rbac.MilvusException) as refused:
        milvus_rbac.MilvusClient(mutual.url, token=ROOT, **tls)
    assert refused.value.code == 2
    with pytest.raises(milvus_rbac.ParamError, match="client_key_path"):
        milvus_rbac.MilvusClient(mutual.url, token=ROOT, client_pem_path=str(certificates["client.pem"]), **tls)
    # REST over TLS: the server's certificate must name the URI's host (no `server_name` over REST).
    with pytest.raises(milvus_rbac.MilvusException, match="`server_name` is not supported over REST"):
        milvus_rbac.MilvusClient(mutual.url, token=ROOT, protocol="rest", **tls)
    rest_tls = {"ca_pem_path": str(certificates["ca.pem"]), "protocol": "rest"}
    with milvus_rbac.MilvusClient(mutual.url, token=ROOT, client_pem_path=str(certificates["client.pem"]),
                                  client_key_path=str(certificates["client.key"]), **rest_tls) as client:
        assert client.list_roles() == ["admin", "public", "role_a"]
    with pytest.raises(milvus_rbac.MilvusException) as refused:
        milvus_rbac.MilvusClient(mutual.url, token=ROOT, **rest_tls)
    assert refused.value.code == 2


def test_the_cli_over_mutual_tls(mutual: TlsServer, certificates: Dict[str, Path], tmp_path: Path) -> None:
    env = {**os.environ, "MILVUS_RBAC_TOKEN": ROOT}
    command = [*FAST, "--uri", mutual.url, "--ca-pem-path", str(certificates["ca.pem"]),
               "--client-pem-path", str(certificates["client.pem"]), "--client-key-path",
               str(certificates["client.key"]), "--server-name", "localhost", "users", "list"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "root\n"), done.stderr
    done = subprocess.run(command[:5] + command[-4:], capture_output=True, text=True, timeout=60, env=env,
                          cwd=tmp_path)
    assert done.returncode == 1 and "Fail connecting to server" in done.stderr, done.stderr  # no client certificate
