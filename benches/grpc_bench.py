#!/usr/bin/env python3
"""Benchmark: `milvus-rbac serve` over gRPC against a real Milvus 2.3.5, through the same clients, in one run.

    MILVUS_URI=http://127.0.0.1:19530 python benches/grpc_bench.py            # the full run (~3 minutes)
    MILVUS_URI=http://127.0.0.1:19530 python benches/grpc_bench.py --quick    # fewer samples, 5 s loads

Measure a release build (see benches/bench.py for the venv): the header says which build runs. Our server is
started by the script (`milvus-rbac serve --profile milvus-2.4`, strong password hashing, a fresh file). The
real server is MILVUS_URI (MILVUS_TOKEN, default root:Milvus), e.g. `milvus-server --data DIR
--authorization-enabled true` from `pip install milvus==2.3.5`; without it only ours is measured. On the real
server the script touches only users and roles named `gbench_*`, and drops them at the end.

Sections (ratios are ours ÷ Milvus; targets are reported as met or missed, never asserted):
1. Per-call latency through pymilvus: a new client (connect), create_role, grant_role, describe_user,
   describe_role, list_users, list_roles. Samples of both servers alternate. Target: each at most 0.25x.
   The reads again through milvus_rbac's own gRPC client, whose per-call cost is far below pymilvus's.
2. 16 pymilvus clients in 16 processes for 20 s (5 s with --quick), each mixing describe_user, list_roles,
   describe_role with role writes (grant_role/revoke_role, create_role/drop_role): calls per
   second and latency percentiles (Milvus 2.3.5 holds at most 10 roles: the clients share three roles for
   their grants, and four of them create and drop one more each). The two servers are loaded one after the other. Targets: throughput at least
   4x; our p99 below Milvus's median.
3. The Java SDK (tests/sdk/java, milvus-sdk-java 2.6.22): calls per second of 4 threads alternating describeUser
   and listRoles, against both (needs java and mvn).
4. Server memory (VmRSS) with 1,000 open gRPC connections, each of which made one call; Milvus's process
   (found with pgrep) for comparison when it runs on this machine.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import multiprocessing
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench import build_of_module, cpu_model, fmt_bytes, fmt_ratio, fmt_time, pymilvus_quiet, version_of  # noqa: E402

ROOT = "root:Milvus"
PREFIX = "gbench_"
JAVA_DIR = HERE.parent / "tests" / "sdk" / "java"
ANNOUNCEMENT = re.compile(r"^milvus-rbac serving .+ on http://(?P<host>[^\s:]+):(?P<port>\d+)$")
perf = time.perf_counter


# ---------------------------------------------------------------------------------------------------------
# Servers


class OurServer:
    """`milvus-rbac serve` on a fresh file, started for the run."""

    def __init__(self, tmp: str):
        launcher = Path(sys.executable).parent / "milvus-rbac"
        self.proc = subprocess.Popen(
            [str(launcher), "serve", "--db", os.path.join(tmp, "rbac.db"), "--port", "0", "--profile", "milvus-2.4",
             "--log-level", "error"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        match = ANNOUNCEMENT.match(line)
        if not match:
            self.stop()
            raise RuntimeError(f"milvus-rbac serve did not start: {line!r}")
        self.address = f"{match.group('host')}:{match.group('port')}"
        self.uri = f"http://{self.address}"
        self.pid = self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def milvus_pid() -> Optional[int]:
    """The pid of a Milvus standalone process on this machine (the binary `milvus run standalone`)."""
    try:
        out = subprocess.run(["pgrep", "-f", "milvus run standalone"], capture_output=True, text=True).stdout
    except OSError:
        return None
    pids = [int(p) for p in out.split()]
    return pids[0] if len(pids) == 1 else None


def rss_kib(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cleanup(uri: str, token: str) -> None:
    """Drop every gbench_* user and role (with their memberships) on `uri`."""
    from pymilvus import MilvusClient

    with pymilvus_quiet():
        c = MilvusClient(uri, token=token, dedicated=True)
        try:
            for user in c.list_users():
                if user.startswith(PREFIX):
                    for role in c.describe_user(user).get("roles", ()):
                        c.revoke_role(user, role)
                    c.drop_user(user)
            for role in c.list_roles():
                if role.startswith(PREFIX):
                    c.drop_role(role)
        finally:
            c.close()


# ---------------------------------------------------------------------------------------------------------
# 1. Per-call latency


def percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency_section(sides: Dict[str, Tuple[str, str]], repeat: int) -> List[Dict[str, Any]]:
    """Per operation and side: (median, p90) seconds. Samples alternate between the sides."""
    from pymilvus import MilvusClient

    clients = {name: MilvusClient(uri, token=token, dedicated=True) for name, (uri, token) in sides.items()}
    for c in clients.values():
        c.create_user(f"{PREFIX}u", "P@ssw0rd1")
        c.create_role(f"{PREFIX}r")
    counter = iter(range(10**9))

    def connect(name: str) -> Callable[[], Any]:
        uri, token = sides[name]
        return lambda: MilvusClient(uri, token=token, dedicated=True).close()

    def create_role(name: str) -> Tuple[Callable[[], Any], Callable[[], Any]]:
        role = f"{PREFIX}c{next(counter)}"
        c = clients[name]
        return (lambda: c.create_role(role)), (lambda: c.drop_role(role))

    def grant_role(name: str) -> Tuple[Callable[[], Any], Callable[[], Any]]:
        c = clients[name]
        return (lambda: c.grant_role(f"{PREFIX}u", f"{PREFIX}r")), (lambda: c.revoke_role(f"{PREFIX}u", f"{PREFIX}r"))

    plain: Dict[str, Callable[[Any], Any]] = {
        "describe_user": lambda c: c.describe_user(f"{PREFIX}u"),
        "describe_role": lambda c: c.describe_role(f"{PREFIX}r"),
        "list_users": lambda c: c.list_users(),
        "list_roles": lambda c: c.list_roles(),
    }
    rows = []
    operations: List[str] = ["connect", "create_role", "grant_role", *plain]
    for operation in operations:
        samples: Dict[str, List[float]] = {name: [] for name in sides}
        for i in range(repeat + 2):  # two warm-up rounds
            for name in sides:
                undo: Optional[Callable[[], Any]] = None
                if operation == "connect":
                    work = connect(name)
                elif operation == "create_role":
                    work, undo = create_role(name)
                elif operation == "grant_role":
                    work, undo = grant_role(name)
                else:
                    client = clients[name]
                    call = plain[operation]
                    work = lambda client=client, call=call: call(client)  # noqa: E731
                started = perf()
                work()
                elapsed = perf() - started
                if undo is not None:
                    undo()
                if i >= 2:
                    samples[name].append(elapsed)
        row: Dict[str, Any] = {"operation": operation}
        for name, values in samples.items():
            row[name] = (statistics.median(values), percentile(values, 0.9))
        rows.append(row)
    for c in clients.values():
        c.drop_user(f"{PREFIX}u")
        c.drop_role(f"{PREFIX}r")
        c.close()
    return rows


def own_client_section(sides: Dict[str, Tuple[str, str]], repeat: int) -> Dict[str, Dict[str, float]]:
    """Median seconds of the reads through milvus_rbac's own gRPC client (Rust, tonic), whose per-call cost is a
    fraction of pymilvus's: what remains is mostly the servers' own time."""
    import milvus_rbac

    clients = {name: milvus_rbac.MilvusClient(uri, token=token) for name, (uri, token) in sides.items()}
    calls: Dict[str, Callable[[Any], Any]] = {
        "describe_user": lambda c: c.describe_user("root"),
        "list_users": lambda c: c.list_users(),
        "list_roles": lambda c: c.list_roles(),
    }
    medians: Dict[str, Dict[str, float]] = {}
    for operation, call in calls.items():
        samples: Dict[str, List[float]] = {name: [] for name in sides}
        for i in range(repeat * 4 + 20):
            for name, client in clients.items():
                started = perf()
                call(client)
                if i >= 20:
                    samples[name].append(perf() - started)
        medians[operation] = {name: statistics.median(values) for name, values in samples.items()}
    for client in clients.values():
        client.close()
    return medians


# ---------------------------------------------------------------------------------------------------------
# 2. Concurrent clients


def load_worker(args: Tuple[str, str, int, float, float]) -> Tuple[int, List[float], int]:
    """One process: a pymilvus client calling a mix until `end` (wall clock); (calls, latencies, failures)."""
    uri, token, n, start, end = args
    import logging

    logging.getLogger("pymilvus").setLevel(logging.CRITICAL + 1)
    from pymilvus import MilvusClient

    c = MilvusClient(uri, token=token, dedicated=True)
    # Milvus 2.3.5 holds at most 10 roles (admin and public among them): the workers share SHARED_ROLES roles,
    # and only the first CREATING_WORKERS create and drop one of their own.
    user, role = f"{PREFIX}w{n}", f"{PREFIX}shared{n % SHARED_ROLES}"
    c.create_user(user, "P@ssw0rd1")
    extra = f"{PREFIX}wx{n}"
    mix: List[Callable[[], Any]] = [
        lambda: c.describe_user(user),
        lambda: c.list_roles(),
        lambda: c.describe_role(role),
        lambda: c.grant_role(user, role),
        lambda: c.describe_user(user),
        lambda: c.revoke_role(user, role),
    ]
    if n < CREATING_WORKERS:
        mix += [lambda: c.create_role(extra), lambda: c.list_roles(), lambda: c.drop_role(extra)]
    while time.time() < start:
        time.sleep(0.001)
    latencies: List[float] = []
    failures = 0
    i = 0
    while time.time() < end:
        t0 = perf()
        try:
            mix[i % len(mix)]()
        except Exception:  # noqa: BLE001  (counted, and the mix goes on)
            failures += 1
        latencies.append(perf() - t0)
        i += 1
    with contextlib.suppress(Exception):
        if i % len(mix) in (4, 5):  # granted, not yet revoked
            c.revoke_role(user, role)
        if i % len(mix) == 8:  # created, not yet dropped
            c.drop_role(extra)
        c.drop_user(user)
    c.close()
    return len(latencies), latencies, failures


SHARED_ROLES = 3
CREATING_WORKERS = 4


def load_section(uri: str, token: str, clients: int, seconds: float) -> Dict[str, float]:
    from pymilvus import MilvusClient

    with pymilvus_quiet():
        setup = MilvusClient(uri, token=token, dedicated=True)
        for k in range(SHARED_ROLES):
            setup.create_role(f"{PREFIX}shared{k}")
    context = multiprocessing.get_context("spawn")
    with context.Pool(clients) as pool:
        start = time.time() + 3.0  # every process connected and set up before the clock starts
        results = pool.map(load_worker, [(uri, token, n, start, start + seconds) for n in range(clients)])
    with pymilvus_quiet():
        for k in range(SHARED_ROLES):
            setup.drop_role(f"{PREFIX}shared{k}")
        setup.close()
    latencies = [t for _, values, _ in results for t in values]
    calls = sum(n for n, _, _ in results)
    return {
        "calls_per_second": calls / seconds,
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "failures": float(sum(f for _, _, f in results)),
    }


# ---------------------------------------------------------------------------------------------------------
# 3. The Java SDK


def java_jar() -> Optional[Path]:
    if not (shutil.which("java") and shutil.which("mvn")):
        return None
    done = subprocess.run(["mvn", "-q", "-B", "package"], cwd=JAVA_DIR, capture_output=True, text=True,
                          timeout=900)
    jar = JAVA_DIR / "target" / "walkthrough.jar"
    return jar if done.returncode == 0 and jar.exists() else None


def java_rate(jar: Path, address: str, token: str, seconds: float, threads: int) -> Dict[str, float]:
    done = subprocess.run(["java", "-cp", str(jar), "rbac.CallRate", address, token, str(seconds), str(threads)],
                          capture_output=True, text=True, timeout=seconds + 120)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"CallRate failed ({done.returncode}): {done.stderr[-500:]}")
    return json.loads(lines[-1])


# ---------------------------------------------------------------------------------------------------------
# 4. Memory with many connections


def connection_holder(args: Tuple[str, str, int, float]) -> int:
    """Open `count` gRPC connections to `address` (one channel each, not shared), make one call on each, and
    hold them for `hold` seconds. Returns how many calls succeeded."""
    address, token, count, hold = args
    import grpc

    metadata = (("authorization", base64.b64encode(token.encode()).decode()),)
    channels = []
    succeeded = 0
    for _ in range(count):
        channel = grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])
        call = channel.unary_unary("/milvus.proto.milvus.MilvusService/GetVersion",
                                   request_serializer=lambda b: b, response_deserializer=lambda b: b)
        with contextlib.suppress(grpc.RpcError):
            call(b"", metadata=metadata, timeout=30)
            succeeded += 1
        channels.append(channel)
    time.sleep(hold)
    for channel in channels:
        channel.close()
    return succeeded


def sockets_of(pid: int) -> int:
    try:
        return sum(1 for fd in os.listdir(f"/proc/{pid}/fd") if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"))
    except OSError:
        return -1


def memory_section(address: str, token: str, pid: int, connections: int) -> Dict[str, Any]:
    """VmRSS of `pid` before and while `connections` connections are open."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4096)), hard))
    holders = 4
    before = rss_kib(pid)
    context = multiprocessing.get_context("spawn")
    hold = 8.0
    with context.Pool(holders) as pool:
        pending = pool.map_async(connection_holder,
                                 [(address, token, connections // holders, hold) for _ in range(holders)])
        # The holders open their connections, then hold them: read while they are open.
        deadline = time.time() + 120
        while sockets_of(pid) < connections and time.time() < deadline and not pending.ready():
            time.sleep(0.2)
        time.sleep(1.0)
        during, open_sockets = rss_kib(pid), sockets_of(pid)
        succeeded = sum(pending.get(timeout=300))
    return {"before_kib": before, "during_kib": during, "sockets": open_sockets, "calls": succeeded}


# ---------------------------------------------------------------------------------------------------------
# Report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples and 5 s loads")
    args = parser.parse_args()
    repeat = 30 if args.quick else 150
    seconds = 5.0 if args.quick else 20.0
    uri = os.environ.get("MILVUS_URI")
    token = os.environ.get("MILVUS_TOKEN", ROOT)
    build, path = build_of_module()
    load = os.getloadavg()
    tmp = tempfile.mkdtemp(prefix="milvus-rbac-grpc-bench-")
    ours = OurServer(tmp)
    milvus_version = None
    lines: List[str] = []
    targets: List[Tuple[str, str, Optional[bool]]] = []
    try:
        from pymilvus import MilvusClient

        sides: Dict[str, Tuple[str, str]] = {"ours": (ours.uri, ROOT)}
        if uri:
            with pymilvus_quiet():
                probe = MilvusClient(uri, token=token, dedicated=True)
                milvus_version = probe.get_server_version()
                probe.close()
            cleanup(uri, token)
            sides["milvus"] = (uri, token)
        lines += [
            f"_Machine: {cpu_model()}, {os.cpu_count()} cores; load average {load[0]:.2f} at start; niceness "
            f"{os.nice(0)}_  ",
            f"_Versions: {build}; pymilvus {version_of('pymilvus')}; "
            + (f"Milvus server {milvus_version}" if milvus_version else "no Milvus server (MILVUS_URI unset)")
            + f"; {'--quick' if args.quick else 'full run'}_",
            "",
        ]
        print(f"measuring {path}", file=sys.stderr)

        # 1
        with pymilvus_quiet():
            rows = latency_section(sides, repeat)
        lines += ["| call (pymilvus) | ours median | ours p90 | Milvus median | Milvus p90 | ours ÷ Milvus |",
                  "|---|---|---|---|---|---|"]
        for row in rows:
            mine = row["ours"]
            theirs = row.get("milvus")
            ratio = mine[0] / theirs[0] if theirs else None
            lines.append(f"| {row['operation']} | {fmt_time(mine[0])} | {fmt_time(mine[1])} | "
                         f"{fmt_time(theirs[0]) if theirs else '—'} | {fmt_time(theirs[1]) if theirs else '—'} | "
                         f"{fmt_ratio(mine[0], theirs[0] if theirs else None)} |")
            targets.append((f"{row['operation']} ≤ 0.25x Milvus", fmt_ratio(mine[0], theirs[0] if theirs else None),
                            None if ratio is None else ratio <= 0.25))
        own = own_client_section(sides, repeat)
        lines += ["", "| call (milvus_rbac's gRPC client) | ours median | Milvus median | ours ÷ Milvus |",
                  "|---|---|---|---|"]
        for operation, medians in own.items():
            lines.append(f"| {operation} | {fmt_time(medians['ours'])} | {fmt_time(medians.get('milvus'))} | "
                         f"{fmt_ratio(medians['ours'], medians.get('milvus'))} |")
        print("  latency done", file=sys.stderr, flush=True)

        # 2
        loads = {name: load_section(side_uri, side_token, 16, seconds) for name, (side_uri, side_token) in sides.items()}
        lines += ["", f"| 16 pymilvus clients, {seconds:.0f} s, reads and role writes | calls/s | p50 | p99 | failures |",
                  "|---|---|---|---|---|"]
        for name, figures in loads.items():
            lines.append(f"| {name} | {figures['calls_per_second']:.0f} | {fmt_time(figures['p50'])} | "
                         f"{fmt_time(figures['p99'])} | {figures['failures']:.0f} |")
        if "milvus" in loads:
            speedup = loads["ours"]["calls_per_second"] / loads["milvus"]["calls_per_second"]
            targets.append(("throughput ≥ 4x Milvus", f"{speedup:.2f}x", speedup >= 4))
            targets.append(("our p99 < Milvus median", f"{fmt_time(loads['ours']['p99'])} vs "
                            f"{fmt_time(loads['milvus']['p50'])}", loads["ours"]["p99"] < loads["milvus"]["p50"]))
        print("  load done", file=sys.stderr, flush=True)

        # 3
        jar = java_jar()
        if jar is None:
            lines += ["", "_Java SDK: not measured (java/mvn missing or the build failed)._"]
        else:
            java_seconds = seconds / 2
            rates = {name: java_rate(jar, side_uri.split("://", 1)[1], side_token, java_seconds, 4)
                     for name, (side_uri, side_token) in sides.items()}
            lines += ["", f"| Java SDK 2.6.22, 4 threads, {java_seconds:.0f} s, describeUser/listRoles | calls/s |"
                      " failures |", "|---|---|---|"]
            for name, rate in rates.items():
                lines.append(f"| {name} | {rate['calls_per_second']:.0f} | {rate['failures']} |")
            if "milvus" in rates and rates["milvus"]["calls_per_second"]:
                lines.append(f"| ours ÷ Milvus (throughput) | "
                             f"{rates['ours']['calls_per_second'] / rates['milvus']['calls_per_second']:.2f}x | |")
        print("  java done", file=sys.stderr, flush=True)

        # 4
        connections = 1000
        memory = {"ours": memory_section(ours.address, ROOT, ours.pid, connections)}
        real_pid = milvus_pid() if uri else None
        if uri and real_pid:
            memory["milvus"] = memory_section(uri.split("://", 1)[1], token, real_pid, connections)
        lines += ["", f"| server memory, {connections} gRPC connections | VmRSS before | VmRSS with them open | "
                  "growth | sockets seen | calls answered |", "|---|---|---|---|---|---|"]
        for name, m in memory.items():
            growth = (m["during_kib"] - m["before_kib"]) * 1024 if m["during_kib"] and m["before_kib"] else None
            lines.append(f"| {name} | {fmt_bytes(m['before_kib'] * 1024)} | {fmt_bytes(m['during_kib'] * 1024)} | "
                         f"{fmt_bytes(growth)} | {m['sockets']} | {m['calls']} |")
        if uri and not real_pid:
            lines.append("| milvus | not on this machine (or not one process) | | | | |")
        print("  memory done", file=sys.stderr, flush=True)

        lines += ["", "| target | measured | verdict |", "|---|---|---|"]
        for what, measured, met in targets:
            lines.append(f"| {what} | {measured} | {'—' if met is None else 'met' if met else 'missed'} |")
        lines += ["", f"_Load average {os.getloadavg()[0]:.2f} at the end._"]
        print("\n".join(lines))
    finally:
        ours.stop()
        if uri:
            with contextlib.suppress(Exception):
                cleanup(uri, token)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
