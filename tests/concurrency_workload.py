"""The workers of tests/test_concurrency.py: threads doing random operations on one file registry until a
deadline, each keeping a model of what its acknowledged operations imply.

Each thread works on names of its own (``p<process>t<thread>_...``) plus one shared role, ``shared``, to which
every thread grants its users and privileges on its own collections. So the final state of the file is exactly
the union of the threads' models, while all threads contend for the same file, tables and rows. Each thread
also checks that it reads its own writes, through whichever client it uses.

Run as a script (``concurrency_workload.py DB PROCESS THREADS DEADLINE``), it prints the models as JSON.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from typing import Any, Dict, List, Sequence

SETTINGS: Dict[str, Any] = dict(profile="milvus-2.5", password_hash="fast", max_users=None, max_roles=None)
PASSWORDS = ("abcdef1", "ghijkl2")
PRIVILEGES = ("Insert", "Search", "Load", "Flush", "Query")
RELATED = {"Load": ("GetLoadState", "GetLoadingProgress"), "Flush": ("GetFlushState",)}
SHARED_ROLE = "shared"


def open_client(db: str) -> Any:
    from milvus_rbac import MilvusClient

    return MilvusClient(db, token="root:Milvus", **SETTINGS)


def ensure_shared_role(client: Any) -> None:
    """Every process creates the shared role; all but one are told it exists, which is a success here."""
    from milvus_rbac import MilvusException

    try:
        client.create_role(SHARED_ROLE)
    except MilvusException as err:
        if err.message != f'role [name:"{SHARED_ROLE}"] already exists':
            raise


class Worker:
    def __init__(self, client: Any, prefix: str, seed: int) -> None:
        self.client = client
        self.prefix = prefix
        self.rng = random.Random(seed)
        self.users: Dict[str, str] = {}
        self.roles: set = set()
        self.members: set = set()
        self.grants: set = set()
        self.counter = 0
        self.acknowledged = 0
        self.errors: List[str] = []

    def fresh(self, kind: str) -> str:
        self.counter += 1
        return f"{self.prefix}{kind}{self.counter}"

    def pick(self, items: Sequence[Any]) -> Any:
        return self.rng.choice(sorted(items)) if items else None

    def step(self) -> None:
        c, rng = self.client, self.rng
        action = rng.choice(
            ["create_user"] * 3 + ["create_role"] * 2 + ["grant_role"] * 3 + ["grant_privilege"] * 3
            + ["revoke_privilege", "revoke_role", "drop_user", "drop_role", "update_password", "read"] * 1
        )
        user = self.pick(self.users)
        role = self.pick(self.roles | {SHARED_ROLE})
        if action == "create_user" or (user is None and action in ("grant_role", "revoke_role", "drop_user", "update_password")):
            name = self.fresh("u")
            c.create_user(name, PASSWORDS[0])
            self.users[name] = PASSWORDS[0]
        elif action == "create_role":
            name = self.fresh("r")
            c.create_role(name)
            self.roles.add(name)
        elif action == "grant_role":
            c.grant_role(user, role)
            self.members.add((user, role))
        elif action == "revoke_role":
            c.revoke_role(user, role)
            self.members.discard((user, role))
        elif action == "drop_user":
            c.drop_user(user)
            del self.users[user]
            self.members = {m for m in self.members if m[0] != user}
        elif action == "drop_role":
            own = self.pick(self.roles)
            if own is None:
                return
            c.drop_role(own, force_drop=True)
            self.roles.discard(own)
            self.members = {m for m in self.members if m[1] != own}
            self.grants = {g for g in self.grants if g[0] != own}
        elif action == "update_password":
            new = PASSWORDS[1] if self.users[user] == PASSWORDS[0] else PASSWORDS[0]
            c.update_password(user, self.users[user], new)
            self.users[user] = new
        elif action in ("grant_privilege", "revoke_privilege"):
            privilege = rng.choice(PRIVILEGES)
            collection = f"{self.prefix}c{rng.randint(1, 4)}"
            getattr(c, action)(role, "Collection", privilege, collection)
            rows = {(role, "Collection", "default", collection, p) for p in (privilege, *RELATED.get(privilege, ()))}
            self.grants = self.grants | rows if action == "grant_privilege" else self.grants - rows
        else:
            self.read_own_writes(user)
        self.acknowledged += 1

    def read_own_writes(self, user: Any) -> None:
        users = list(self.client.list_users())
        assert users == sorted(set(users)), "list_users is not sorted and unique"
        assert set(self.users) <= set(users), "an acknowledged user is missing"
        if user is not None:
            roles = self.client.describe_user(user)["roles"]
            assert set(roles) == {r for (u, r) in self.members if u == user}, (user, roles)

    def run(self, deadline: float) -> None:
        try:
            while time.time() < deadline:
                self.step()
        except BaseException as err:  # reported to the test, which fails on any
            self.errors.append(f"{type(err).__name__}: {err}")

    def model(self) -> Dict[str, Any]:
        return {
            "users": self.users,
            "roles": sorted(self.roles),
            "members": sorted(self.members),
            "grants": sorted(self.grants),
            "acknowledged": self.acknowledged,
            "errors": self.errors,
        }


def run(clients: Sequence[Any], process: int, threads: int, deadline: float) -> List[Dict[str, Any]]:
    """`threads` workers in this process, spread over `clients` (one client shared, or one each, ...)."""
    workers = [Worker(clients[t % len(clients)], f"p{process}t{t}_", seed=1000 * process + t) for t in range(threads)]
    running = [threading.Thread(target=w.run, args=(deadline,)) for w in workers]
    for t in running:
        t.start()
    for t in running:
        t.join()
    return [w.model() for w in workers]


def main(db: str, process: int, threads: int, deadline: float) -> None:
    try:
        client = open_client(db)
        ensure_shared_role(client)
    except BaseException as err:
        print(json.dumps([{"errors": [f"{type(err).__name__}: {err}"]}]))
        return
    print(json.dumps(run([client], process, threads, deadline)))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
