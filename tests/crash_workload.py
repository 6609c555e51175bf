"""The operation stream of tests/test_crash.py, and the writer process that performs it.

Operation `i` is a pure function of `i`: the test replays the stream on a small model to know the state after any
number of operations, and a restarted writer continues where the file says the last one stopped. The stream is
made of blocks of `len(STEPS)` operations that create a user, a role, grants (Load and Flush bring their related
privileges), a custom privilege group, a restore of a small backup, and then drop what block `b - 2` created
(roles with `force_drop`, taking memberships and grants along).

Run as a script, it is the writer: ``crash_workload.py DB FIRST`` performs operations FIRST, FIRST+1, ... on the
file registry DB, printing each operation's index on stdout once the call has returned (its acknowledgement).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Set, Tuple

PROFILE = "milvus-2.5"
SETTINGS: Dict[str, Any] = dict(profile=PROFILE, password_hash="fast", max_users=None, max_roles=None)
PW_A = "abcdef1"
PW_B = "ghijkl2"
ROOT_PW = "Milvus"

# (role, object type, database, object, privilege, grantor)
GrantRow = Tuple[str, str, str, str, str, str]


@dataclass
class State:
    """What a registry holds, as the test compares it: names, memberships, grants, groups and passwords."""

    users: Dict[str, str] = field(default_factory=dict)  # name -> password
    roles: Set[str] = field(default_factory=set)
    members: Set[Tuple[str, str]] = field(default_factory=set)
    grants: Set[GrantRow] = field(default_factory=set)
    groups: Dict[str, FrozenSet[str]] = field(default_factory=dict)

    def copy(self) -> "State":
        return State(dict(self.users), set(self.roles), set(self.members), set(self.grants), dict(self.groups))

    def tables(self) -> Tuple[Any, ...]:
        """Everything but the passwords (which only a login can check)."""
        return (sorted(self.users), sorted(self.roles), sorted(self.members), sorted(self.grants), sorted(self.groups.items()))


# An operation: the client method, its arguments, and its effect on the model.
Op = Tuple[str, Tuple[Any, ...], Dict[str, Any], Callable[[State], None]]

RELATED = {"Load": ("GetLoadState", "GetLoadingProgress"), "Flush": ("GetFlushState",)}


def _grant(role: str, object_type: str, obj: str, privilege: str, db: str = "default") -> Callable[[State], None]:
    def apply(s: State) -> None:
        for p in (privilege, *RELATED.get(privilege, ())):
            s.grants.add((role, object_type, db, obj, p, "root"))

    return apply


def _revoke(role: str, object_type: str, obj: str, privilege: str, db: str = "default") -> Callable[[State], None]:
    def apply(s: State) -> None:
        for p in (privilege, *RELATED.get(privilege, ())):
            s.grants.discard((role, object_type, db, obj, p, "root"))

    return apply


def _drop_role(role: str) -> Callable[[State], None]:
    def apply(s: State) -> None:
        s.roles.discard(role)
        s.members = {m for m in s.members if m[1] != role}
        s.grants = {g for g in s.grants if g[0] != role}

    return apply


def _drop_user(user: str) -> Callable[[State], None]:
    def apply(s: State) -> None:
        s.users.pop(user, None)
        s.members = {m for m in s.members if m[0] != user}

    return apply


def _restore(b: int) -> Callable[[State], None]:
    def apply(s: State) -> None:
        s.users[f"x{b}"] = PW_A
        s.roles.add(f"y{b}")
        s.members.add((f"x{b}", f"y{b}"))
        s.grants.add((f"y{b}", "Collection", "default", f"c{b}", "Insert", "root"))

    return apply


def _nothing(s: State) -> None:
    pass


def _set(attr: str, update: Callable[[Any], None]) -> Callable[[State], None]:
    def apply(s: State) -> None:
        update(getattr(s, attr))

    return apply


def _steps(b: int) -> List[Op]:
    u, r, g, c = f"u{b}", f"r{b}", f"g{b}", f"c{b}"
    old = b >= 2
    steps: List[Op] = [
        ("create_user", (u, PW_A), {}, _set("users", lambda users: users.__setitem__(u, PW_A))),
        ("create_role", (r,), {}, _set("roles", lambda roles: roles.add(r))),
        ("grant_role", (u, r), {}, _set("members", lambda m: m.add((u, r)))),
        ("grant_privilege", (r, "Collection", "Load", c), {}, _grant(r, "Collection", c, "Load")),
        ("grant_privilege_v2", (r, "Flush", c, "default"), {}, _grant(r, "Collection", c, "Flush")),
        ("create_privilege_group", (g,), {}, _set("groups", lambda gs: gs.__setitem__(g, frozenset()))),
        (
            "add_privileges_to_group",
            (g, ["Query", "Search"]),
            {},
            _set("groups", lambda gs: gs.__setitem__(g, gs[g] | {"Query", "Search"})),
        ),
        ("grant_privilege_v2", (r, g, c, "default"), {}, _grant(r, "Global", c, g)),
        ("update_password", (u, PW_A, PW_B), {}, _set("users", lambda users: users.__setitem__(u, PW_B))),
        (
            ("grant_role", (f"u{b - 1}", r), {}, _set("members", lambda m: m.add((f"u{b - 1}", r))))
            if b >= 1
            else ("list_users", (), {}, _nothing)
        ),
        ("restore_rbac", (b,), {}, _restore(b)),
        ("revoke_privilege", (r, "Collection", "Load", c), {}, _revoke(r, "Collection", c, "Load")),
    ]
    if old:
        steps += [
            ("drop_role", (f"r{b - 2}",), {"force_drop": True}, _drop_role(f"r{b - 2}")),
            ("drop_privilege_group", (f"g{b - 2}",), {}, _set("groups", lambda gs: gs.pop(f"g{b - 2}", None))),
            ("drop_user", (f"u{b - 2}",), {}, _drop_user(f"u{b - 2}")),
            ("drop_user", (f"x{b - 2}",), {}, _drop_user(f"x{b - 2}")),
            ("drop_role", (f"y{b - 2}",), {"force_drop": True}, _drop_role(f"y{b - 2}")),
        ]
    else:
        steps += [("list_roles", (), {}, _nothing)] * 5
    return steps


STEPS = len(_steps(2))
assert all(len(_steps(b)) == STEPS for b in range(3))


def operation(i: int) -> Op:
    block, step = divmod(i, STEPS)
    return _steps(block)[step]


def state_after(n: int, initial: State) -> State:
    s = initial.copy()
    for i in range(n):
        operation(i)[3](s)
    return s


def backup_for(b: int) -> Dict[str, Any]:
    """A backup holding user x<b> (password PW_A) in role y<b>, which may Insert into collection c<b>."""
    from milvus_rbac import MilvusClient

    with MilvusClient(":memory:", token=f"root:{ROOT_PW}", **SETTINGS) as m:
        m.create_user(f"x{b}", PW_A)
        m.create_role(f"y{b}")
        m.grant_role(f"x{b}", f"y{b}")
        m.grant_privilege(f"y{b}", "Collection", "Insert", f"c{b}")
        return m.backup_rbac()


def write(db: str, first: int, last: Optional[int] = None) -> None:
    from milvus_rbac import MilvusClient

    client = MilvusClient(db, token=f"root:{ROOT_PW}", **SETTINGS)
    i = first
    while last is None or i < last:
        method, args, kwargs, _ = operation(i)
        if method == "restore_rbac":
            args = (backup_for(args[0]),)
        getattr(client, method)(*args, **kwargs)
        print(i, flush=True)
        i += 1


if __name__ == "__main__":
    write(sys.argv[1], int(sys.argv[2]))
