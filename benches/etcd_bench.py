#!/usr/bin/env python3
"""Benchmark: registries in etcd against the SQLite file, in one run.

    python benches/etcd_bench.py            # the full run (a few minutes)
    python benches/etcd_bench.py --quick    # fewer samples, 5 s loads, 20,000 users instead of 100,000

Measure a release build (see benches/bench.py for the venv). The script starts a 3-member etcd cluster on
loopback (the `etcd` binary on the PATH: tests/install-etcd) and stops it at the end.

Sections (ratios are etcd ÷ SQLite file, in time; figures are medians of interleaved samples):
1. Per-operation latency through the embedded client: a write pair (create_role + drop_role, grant_privilege +
   revoke_privilege), and the reads describe_user, describe_role, list_users, list_roles.
2. The freshness check: what a call costs on etcd beyond the same call on `:memory:`, which is the read of
   `head` each call makes (and the same read timed alone, through the store's version check).
3. Throughput: 2 servers on one etcd registry, 8 clients each (threads, milvus_rbac's gRPC client), mixing
   reads (describe_user, list_roles) with grant/revoke writes, against 1 server on a SQLite file with 16 clients.
4. 100,000 users in etcd and in a file: create by restore_rbac, list_users, describe_user, open a new client.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from bench import build_of_module, cpu_model, fmt_ratio, fmt_time  # noqa: E402
from etcd_cluster import Cluster  # noqa: E402

from milvus_rbac import MilvusClient  # noqa: E402

ROOT = "root:Milvus"
ANNOUNCEMENT = re.compile(r"^milvus-rbac serving .+ on (?P<url>http://\S+)$")
perf = time.perf_counter


def median_pair(samples: int, ours: Callable[[], Any], base: Callable[[], Any]) -> Tuple[float, float]:
    """Medians of `samples` interleaved timings of `ours` and `base`."""
    a: List[float] = []
    b: List[float] = []
    for _ in range(samples):
        for fn, into in ((ours, a), (base, b)):
            start = perf()
            fn()
            into.append(perf() - start)
    return statistics.median(a), statistics.median(b)


def row(name: str, etcd: float, file: float) -> None:
    print(f"| {name} | {fmt_time(etcd)} | {fmt_time(file)} | {fmt_ratio(etcd, file)} |")


def latency(etcd_uri: str, file_uri: str, samples: int) -> None:
    print("\n### 1. Per-operation latency, embedded client (median)\n")
    print("| operation | etcd (3 members) | SQLite file | ratio |\n|---|---|---|---|")
    clients = {}
    for name, uri in (("etcd", etcd_uri), ("file", file_uri)):
        client = MilvusClient(uri, token=ROOT, password_hash="fast")
        client.create_user("bench_user", "P@ssw0rd1")
        client.create_role("bench_role")
        client.grant_role("bench_user", "bench_role")
        client.grant_privilege("bench_role", "Collection", "Search", "books")
        clients[name] = client

    def pair(make: Callable[[MilvusClient], Callable[[], Any]]) -> Tuple[float, float]:
        return median_pair(samples, make(clients["etcd"]), make(clients["file"]))

    def role_pair(c: MilvusClient) -> Callable[[], None]:
        return lambda: (c.create_role("bench_tmp"), c.drop_role("bench_tmp"))

    def grant_pair(c: MilvusClient) -> Callable[[], None]:
        return lambda: (c.grant_privilege("bench_role", "Collection", "Query", "x"),
                        c.revoke_privilege("bench_role", "Collection", "Query", "x"))

    row("create_role + drop_role", *pair(role_pair))
    row("grant_privilege + revoke_privilege", *pair(grant_pair))
    row("describe_user", *pair(lambda c: lambda: c.describe_user("bench_user")))
    row("describe_role", *pair(lambda c: lambda: c.describe_role("bench_role")))
    row("list_users", *pair(lambda c: c.list_users))
    row("list_roles", *pair(lambda c: c.list_roles))
    for client in clients.values():
        client.close()


def freshness(etcd_uri: str, samples: int) -> None:
    print("\n### 2. The freshness check (median per call)\n")
    etcd = MilvusClient(etcd_uri, token=ROOT, password_hash="fast")
    memory = MilvusClient(":memory:", token=ROOT, password_hash="fast")
    on_etcd, on_memory = median_pair(samples, lambda: etcd.describe_role("admin"), lambda: memory.describe_role("admin"))
    print("| describe_role on etcd | on `:memory:` | difference (the check) |\n|---|---|---|")
    print(f"| {fmt_time(on_etcd)} | {fmt_time(on_memory)} | {fmt_time(on_etcd - on_memory)} |")
    etcd.close()
    memory.close()


def serve(db: str) -> Tuple["subprocess.Popen[bytes]", str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "milvus_rbac", "serve", "--db", db, "--port", "0", "--log-level", "error",
         "--password-hash", "fast"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().decode().strip()
    match = ANNOUNCEMENT.match(line)
    if not match:
        proc.kill()
        raise RuntimeError(f"serve did not announce: {line!r}")
    return proc, match.group("url")


def load(urls: List[str], clients_per_server: int, seconds: float) -> Tuple[float, float, float]:
    """Calls per second, median and p99 latency of clients spread over `urls`."""
    setup = MilvusClient(urls[0], token=ROOT)
    setup.create_role("load_role")
    latencies: List[List[float]] = []
    stop = threading.Event()

    def work(n: int, url: str) -> None:
        client = MilvusClient(url, token=ROOT)
        mine: List[float] = []
        latencies.append(mine)
        i = 0
        while not stop.is_set():
            start = perf()
            step = i % 4
            if step == 0:
                client.describe_user("root")
            elif step == 1:
                client.list_roles()
            elif step == 2:
                client.grant_privilege("load_role", "Collection", "Search", f"c{n}")
            else:
                client.revoke_privilege("load_role", "Collection", "Search", f"c{n}")
            mine.append(perf() - start)
            i += 1

    threads = [threading.Thread(target=work, args=(n, urls[n % len(urls)]))
               for n in range(clients_per_server * len(urls))]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    every = sorted(x for mine in latencies for x in mine)
    return len(every) / seconds, statistics.median(every), every[int(len(every) * 0.99)]


def throughput(cluster: Cluster, tmp: Path, seconds: float) -> None:
    print(f"\n### 3. Throughput, {seconds:.0f} s, a quarter of the calls writes\n")
    print("| setup | calls/s | median | p99 |\n|---|---|---|---|")
    uri = cluster.uri("bench-load")
    servers = [serve(uri), serve(uri)]
    try:
        rate, median, p99 = load([url for _, url in servers], 8, seconds)
        print(f"| 2 servers on etcd, 8 clients each | {rate:.0f} | {fmt_time(median)} | {fmt_time(p99)} |")
    finally:
        for proc, _ in servers:
            proc.kill()
            proc.wait()
    proc, url = serve(str(tmp / "load.db"))
    try:
        rate, median, p99 = load([url], 16, seconds)
        print(f"| 1 server on a SQLite file, 16 clients | {rate:.0f} | {fmt_time(median)} | {fmt_time(p99)} |")
    finally:
        proc.kill()
        proc.wait()


def many_users(etcd_uri: str, file_uri: str, count: int) -> None:
    print(f"\n### 4. {count:,} users\n")
    print("| step | etcd (3 members) | SQLite file | ratio |\n|---|---|---|---|")
    donor = MilvusClient(":memory:", token=ROOT, password_hash="fast")
    donor.create_user("template", "P@ssw0rd1")
    backup = donor.backup_rbac()
    user = backup["users"][0]
    backup["users"] = [dict(user, user_name=f"user{n:06}") for n in range(count)]
    figures: Dict[str, Dict[str, float]] = {}
    for name, uri in (("etcd", etcd_uri), ("file", file_uri)):
        client = MilvusClient(uri, token=ROOT, password_hash="fast", max_users=None)
        steps: Dict[str, float] = {}
        start = perf()
        client.restore_rbac(backup)
        steps["restore_rbac (create)"] = perf() - start
        start = perf()
        listed = client.list_users()
        steps["list_users"] = perf() - start
        assert len(listed) == count + 1
        samples = []
        for n in range(50):
            start = perf()
            client.describe_user(f"user{n * 997 % count:06}")
            samples.append(perf() - start)
        steps["describe_user (median)"] = statistics.median(samples)
        start = perf()
        MilvusClient(uri, token=ROOT).describe_user("user000001")
        steps["open a new client + first call"] = perf() - start
        figures[name] = steps
        client.close()
    for step in figures["etcd"]:
        row(step, figures["etcd"][step], figures["file"][step])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    samples = 30 if args.quick else 200
    seconds = 5.0 if args.quick else 20.0
    count = 20_000 if args.quick else 100_000
    build, _ = build_of_module()
    etcd_version = subprocess.run(["etcd", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; {build}; {etcd_version}; 3 members on loopback")
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="etcd-bench-"))
    cluster = Cluster(3)
    try:
        latency(cluster.uri("bench-latency"), str(tmp / "latency.db"), samples)
        freshness(cluster.uri("bench-fresh"), samples)
        throughput(cluster, tmp, seconds)
        many_users(cluster.uri("bench-many"), str(tmp / "many.db"), count)
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
