"""Real etcd clusters for the tests: members of the `etcd` binary (Debian's etcd-server, which
tests/install-etcd installs) on free loopback ports, each with its own data directory, started and stopped by
the tests. Without the binary the etcd tests skip, unless MILVUS_RBAC_TEST_ETCD=required (the README's test
command, CI) makes that a failure.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional

import pytest

_prefixes = itertools.count()


def etcd_binary() -> str:
    found = shutil.which("etcd")
    if found:
        return found
    if os.environ.get("MILVUS_RBAC_TEST_ETCD") == "required":
        pytest.fail("MILVUS_RBAC_TEST_ETCD=required and there is no etcd on the PATH (run tests/install-etcd)")
    pytest.skip("no etcd on the PATH (tests/install-etcd installs it)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Member:
    def __init__(self, name: str, root: str, tls: Optional[Dict[str, Path]] = None) -> None:
        self.name = name
        self.tls = tls
        self.client_port = free_port()
        self.peer_port = free_port()
        self.data_dir = os.path.join(root, name)
        self.log_path = os.path.join(root, f"{name}.log")
        self.process: Optional[subprocess.Popen[bytes]] = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"

    @property
    def client_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.endpoint}"

    def start(self, initial_cluster: str) -> None:
        """Start (or restart, on its existing data) the member."""
        tls: List[str] = []
        if self.tls:
            # Clients must present a certificate of the CA (etcd's certificate authentication).
            tls = ["--cert-file", str(self.tls["server.pem"]), "--key-file", str(self.tls["server.key"]),
                   "--trusted-ca-file", str(self.tls["ca.pem"]), "--client-cert-auth"]
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [
                etcd_binary(), "--name", self.name, "--data-dir", self.data_dir,
                "--listen-client-urls", self.client_url, "--advertise-client-urls", self.client_url, *tls,
                "--listen-peer-urls", self.peer_url, "--initial-advertise-peer-urls", self.peer_url,
                "--initial-cluster", initial_cluster, "--initial-cluster-token", "milvus-rbac-tests",
                # Fast elections: a lost member is noticed within a second.
                "--heartbeat-interval", "50", "--election-timeout", "500",
            ],
            stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.process = None

    def healthy(self) -> bool:
        context = None
        if self.tls:
            context = ssl.create_default_context(cafile=str(self.tls["ca.pem"]))
            context.load_cert_chain(str(self.tls["client.pem"]), str(self.tls["client.key"]))
        try:
            with urllib.request.urlopen(f"{self.client_url}/health", timeout=1, context=context) as answer:
                return b'"health":"true"' in answer.read()
        except OSError:
            return False


class Cluster:
    """`size` members on loopback; with `tls` (certificate files by name: ca.pem, server.pem, server.key,
    client.pem, client.key), clients must speak TLS and present a certificate of the CA."""

    def __init__(self, size: int, tls: Optional[Dict[str, Path]] = None) -> None:
        self.root = tempfile.mkdtemp(prefix="milvus-rbac-etcd-")
        self.members: List[Member] = [Member(f"m{n}", self.root, tls) for n in range(size)]
        self.initial = ",".join(f"{m.name}={m.peer_url}" for m in self.members)
        for member in self.members:
            member.start(self.initial)
        self.wait_healthy()

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not all(m.healthy() for m in self.members if m.process):
            if time.monotonic() > deadline:
                logs = {m.name: open(m.log_path, errors="replace").read()[-2000:] for m in self.members}
                raise AssertionError(f"etcd members not healthy within {timeout} s: {logs}")
            time.sleep(0.1)

    @property
    def endpoints(self) -> str:
        return ",".join(m.endpoint for m in self.members)

    def uri(self, prefix: Optional[str] = None) -> str:
        """A registry on a prefix no other test uses."""
        prefix = prefix or f"test-{os.getpid()}-{next(_prefixes)}"
        return f"etcd://{self.endpoints}/{prefix}"

    def restart(self, member: Member) -> None:
        member.start(self.initial)

    def stop(self) -> None:
        for member in self.members:
            member.kill()
        shutil.rmtree(self.root, ignore_errors=True)
