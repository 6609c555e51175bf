"""A real Milvus server for the differential tests: the one `MILVUS_URI` names, or one the test session starts.

- ``MILVUS_URI=http://host:port`` (and ``MILVUS_TOKEN``, default ``root:Milvus``): the tests use that server.
- ``MILVUS_RBAC_TEST_MILVUS=start`` (the README's test command and `.ci/run` set it): the session starts the
  standalone Milvus 2.3.5 that the `milvus` package from PyPI ships (`milvus-server`, installed with the `test`
  extras on Linux x86_64), with authorization on, a fresh data directory, and gRPC on 19530 (its ports are fixed:
  when they are taken, by a Milvus already running, the session says so and points to `MILVUS_URI`). It starts in the background when pytest starts (it needs about a minute), the first test that
  needs it waits until it answers, and it is stopped and its directory removed when the session ends. If it does
  not come up, the tests that need it fail with its log; they are not skipped.
- Neither: the tests that need a real server are skipped.

The server may be shared (a developer's own Milvus): tests that use it drop what they create.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional

START_FLAG = "MILVUS_RBAC_TEST_MILVUS"
PORT = 19530
# gRPC, embedded etcd (client, peer), metrics/health
FIXED_PORTS = (PORT, 2379, 2380, 9091)
ROOT_TOKEN = "root:Milvus"
# Milvus 2.3.5 standalone answers after 40-90 s on a 2-core machine; a loaded CI machine can be slower.
READY_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 15.0
LOG_TAIL_CHARS = 4000


class RealMilvusError(RuntimeError):
    """The started server exited or did not answer in time."""


def _taken_ports() -> List[int]:
    """The fixed ports of a Milvus 2.3.5 standalone that something already listens on. Its embedded etcd's peer port
    (2380) cannot be moved by `milvus-server`'s options, so a second Milvus on one machine cannot start: the session
    then says so at once rather than after minutes."""
    taken = []
    for port in FIXED_PORTS:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                taken.append(port)
    return taken


def _launcher() -> str:
    """The `milvus-server` script of the `milvus` package, beside this Python first."""
    beside = Path(sys.executable).parent / "milvus-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("milvus-server")
    if found is None:
        raise RealMilvusError(
            f"{START_FLAG}=start needs the `milvus` package (pip install milvus==2.3.5): no milvus-server found")
    return found


class StartedMilvus:
    """A `milvus-server` process this session started, in its own process group (it runs the Milvus binary as a
    child, and both must go when the session ends)."""

    def __init__(self) -> None:
        taken = _taken_ports()
        if taken:
            raise RealMilvusError(
                f"cannot start a Milvus 2.3.5: ports {taken} of 127.0.0.1 are in use (another Milvus?). To test "
                f"against a running Milvus, set MILVUS_URI=http://127.0.0.1:{PORT} instead of {START_FLAG}")
        self.data_dir = Path(tempfile.mkdtemp(prefix="milvus-rbac-real-milvus-"))
        self.port = PORT
        self.uri = f"http://127.0.0.1:{self.port}"
        self.log_path = self.data_dir / "milvus-server.log"
        self.binary_stderr = self.data_dir / "data" / "logs" / "milvus-stderr.log"
        self.started_at = time.monotonic()
        self._ready = False
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [_launcher(), "--data", str(self.data_dir / "data"), "--authorization-enabled", "true"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log_tail(self) -> str:
        """The ends of milvus-server's own output and of the Milvus binary's stderr."""
        tails = []
        for path in (self.log_path, self.binary_stderr):
            try:
                tails.append(f"--- {path}\n{path.read_text(errors='replace')[-LOG_TAIL_CHARS:]}")
            except OSError:
                pass
        return "\n".join(tails)

    def binary_died(self) -> bool:
        """The Milvus binary panicked (milvus-server itself keeps running when its child dies)."""
        try:
            return "\npanic: " in self.binary_stderr.read_text(errors="replace")
        except OSError:
            return False

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> str:
        """The server's URI once it answers an authenticated `ListCredUsers`; RealMilvusError if it exits first
        or does not answer within `timeout` seconds of its start."""
        if self._ready:
            return self.uri
        import grpc
        from pymilvus.grpc_gen import milvus_pb2

        deadline = self.started_at + timeout
        metadata = (("authorization", base64.b64encode(ROOT_TOKEN.encode()).decode()),)
        last_answer = "no answer yet"
        with grpc.insecure_channel(f"127.0.0.1:{self.port}") as channel:
            list_users = channel.unary_unary(
                "/milvus.proto.milvus.MilvusService/ListCredUsers",
                request_serializer=milvus_pb2.ListCredUsersRequest.SerializeToString,
                response_deserializer=milvus_pb2.ListCredUsersResponse.FromString,
            )
            while True:
                if self.proc.poll() is not None or self.binary_died():
                    raise RealMilvusError(
                        f"milvus-server stopped (exit code {self.proc.poll()}) before answering; its logs:\n"
                        f"{self.log_tail()}")
                try:
                    reply = list_users(milvus_pb2.ListCredUsersRequest(), metadata=metadata, timeout=5)
                    status = reply.status
                    if status.code == 0 and status.error_code == 0:
                        self._ready = True
                        return self.uri
                    last_answer = f"status {status.code}/{status.error_code}: {status.reason}"
                except grpc.RpcError as err:
                    last_answer = f"{err.code().name}: {err.details()}"
                if time.monotonic() > deadline:
                    raise RealMilvusError(
                        f"milvus-server did not answer ListCredUsers within {timeout:.0f} s (last: {last_answer}); "
                        f"its log:\n{self.log_tail()}")
                time.sleep(1.0)

    def stop(self) -> None:
        """SIGINT (milvus-server stops its child), then SIGKILL to the whole group; the data directory goes."""
        try:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGINT)
                    self.proc.wait(STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    pass
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(STOP_TIMEOUT_S)
        finally:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def start_if_asked() -> Optional[StartedMilvus]:
    """Starts a server when `MILVUS_RBAC_TEST_MILVUS=start` and `MILVUS_URI` is unset; None otherwise."""
    flag = os.environ.get(START_FLAG, "")
    if os.environ.get("MILVUS_URI") or not flag:
        return None
    if flag != "start":
        raise RealMilvusError(f"{START_FLAG} must be 'start' or unset, not {flag!r}")
    return StartedMilvus()
