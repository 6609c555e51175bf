"""A pure-Python reference of milvus-rbac's user and role rules, for benchmarks only.

This is the "hand-written fake" a test suite would otherwise carry: dicts for users, roles, memberships and
grants, the `docs` profile's validation rules (the same checks in the same order, with Milvus's messages),
argon2-cffi for password hashes with the same parameters as milvus-rbac, a verified-credential cache keyed
with BLAKE2b, a credential re-check and a privilege check before every call, and pymilvus's result shapes.
It is in memory only and has no limit on concurrency beyond one lock.

It is a baseline for speed, not a second implementation to test against: it covers what benches/bench.py
runs (create_user, update_password, drop_user, list_users, describe_user, create_role, drop_role, list_roles,
grant_role, revoke_role, grant_privilege, describe_role, check_privilege). The privilege check of its callers
is simplified (root, admin, then exact Global grants); check_privilege, the question asked about another user,
decides from the dicts on every call (root, admin, then a grant of one of the user's roles or public whose
object type matches and whose database, object name and privilege match or are `*`), caching no decision.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from typing import Dict, List, Optional, Set, Tuple

import argon2
from argon2.exceptions import VerificationError, InvalidHashError

# (memory KiB, iterations, lanes) as in src/password.rs
PARAMS = {"strong": (19_456, 2, 1), "fast": (64, 1, 1)}


def hasher(strength: str) -> argon2.PasswordHasher:
    """argon2id with milvus-rbac's parameters: 16-byte salt, 32-byte hash."""
    memory, iterations, lanes = PARAMS[strength]
    return argon2.PasswordHasher(
        time_cost=iterations,
        memory_cost=memory,
        parallelism=lanes,
        hash_len=32,
        salt_len=16,
        type=argon2.Type.ID,
    )


class ReferenceError_(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(f"<MilvusException: (code={code}, message={message})>")
        self.code = code
        self.message = message


def _invalid(message: str) -> ReferenceError_:
    return ReferenceError_(1100, message)


def _ascii_letter(c: str) -> bool:
    return ("a" <= c <= "z") or ("A" <= c <= "Z")


def _word_char(c: str) -> bool:
    return _ascii_letter(c) or ("0" <= c <= "9") or c == "_"


def validate_username(name: str) -> None:
    if not name:
        raise _invalid("username must be not empty: invalid parameter")
    if len(name) > 32:
        raise _invalid(
            f"invalid username {name} with length {len(name)}, the length of username must be less than or "
            "equal to 32: invalid parameter"
        )
    if not _ascii_letter(name[0]):
        raise _invalid(
            f"invalid user name {name}, the first character must be a letter, but got {name[0]}: invalid parameter"
        )
    for c in name[1:]:
        if not _word_char(c):
            raise _invalid(
                f"invalid user name {name}, the user name can only include letters, digits and underscores, "
                f"but got {c}: invalid parameter"
            )


def validate_password(password: str) -> None:
    n = len(password)
    if n < 8 or n > 64:
        raise _invalid(f"invalid password length: invalid parameter[{n} out of range 8 <= value <= 64]")
    if any(not c.isprintable() and (ord(c) < 32 or 127 <= ord(c) < 160) for c in password):
        raise _invalid("invalid password, control characters are not allowed: invalid parameter")
    seen = [False] * 4
    for c in password:
        if "A" <= c <= "Z":
            seen[0] = True
        elif "a" <= c <= "z":
            seen[1] = True
        elif "0" <= c <= "9":
            seen[2] = True
        else:
            seen[3] = True
    found = sum(seen)
    if found < 3:
        raise _invalid(
            "invalid password, it must contain at least 3 of: uppercase letters, lowercase letters, numbers "
            f"and special characters: invalid parameter[expected=3][actual={found}]"
        )


def validate_role_name(name: str) -> None:
    if not name:
        raise _invalid("role name should be not empty: invalid parameter[expected=not empty][actual=]")
    if len(name) > 255:
        raise _invalid(
            "the length of role name must be not greater than limit: invalid parameter"
            f"[{len(name)} out of range 0 <= value <= 255]"
        )
    if not _ascii_letter(name[0]):
        raise _invalid(
            "the first character of role name must be a letter: invalid parameter"
            f"[expected=letter][actual={name[0]}]"
        )
    for i, c in enumerate(name[1:], 1):
        if not _word_char(c):
            raise _invalid(
                f"role name can only contain numbers, letters and underscores, found {c} at {i}: invalid parameter"
            )


Grant = Tuple[str, str, str, str, str]  # object_type, db_name, object_name, privilege, grantor


class Registry:
    """The shared state: one per registry (several clients may use one)."""

    def __init__(
        self,
        *,
        password_hash: str = "strong",
        max_users: Optional[int] = 100,
        max_roles: Optional[int] = 10,
        root_password: str = "Milvus",
    ):
        self.hasher = hasher(password_hash)
        self.max_users = max_users
        self.max_roles = max_roles
        self.lock = threading.Lock()
        self.users: Dict[str, Tuple[str, str]] = {"root": (self.hasher.hash(root_password), "")}
        self.roles: Dict[str, str] = {"admin": "", "public": ""}
        self.user_roles: Dict[str, Set[str]] = {}
        self.grants: Dict[str, Set[Grant]] = {}
        self._key = os.urandom(64)
        self._verified: Dict[str, Tuple[str, bytes]] = {}
        self._decoy = self.hasher.hash("decoy password")

    # credentials

    def _digest(self, user: str, password: str) -> bytes:
        mac = hashlib.blake2b(key=self._key)
        mac.update(user.encode())
        mac.update(b"\0")
        mac.update(password.encode())
        return mac.digest()

    def verify_password(self, user: str, password: str) -> bool:
        stored = self.users.get(user)
        if stored is None:
            try:
                self.hasher.verify(self._decoy, password)
            except (VerificationError, InvalidHashError):
                pass
            return False
        phc = stored[0]
        cached = self._verified.get(user)
        if cached is not None and cached[0] == phc:
            return hmac.compare_digest(cached[1], self._digest(user, password))
        try:
            self.hasher.verify(phc, password)
        except (VerificationError, InvalidHashError):
            return False
        self._verified[user] = (phc, self._digest(user, password))
        return True


class Client:
    """pymilvus-shaped methods over a Registry, acting as one authenticated user."""

    def __init__(self, registry: Registry, token: str):
        user, _, password = token.partition(":")
        if not registry.verify_password(user, password):
            raise ReferenceError_(2, "auth check failure, please check username and password are correct")
        self.registry = registry
        self.user = user
        self._password = password

    def _authorize(self, privilege: str, about_user: Optional[str] = None) -> None:
        reg = self.registry
        if not reg.verify_password(self.user, self._password):
            raise ReferenceError_(2, "auth check failure, please check username and password are correct")
        if self.user == "root" or about_user == self.user:
            return
        roles = reg.user_roles.get(self.user, set()) | {"public"}
        if "admin" in roles:
            return
        for role in roles:
            for grant in reg.grants.get(role, ()):
                if grant[0] == "Global" and grant[3] in (privilege, "*"):
                    return
        raise ReferenceError_(
            65535, f"Privilege{privilege}: permission deny to {self.user} in the `default` database"
        )

    # users

    def create_user(self, user_name: str, password: str, timeout=None, description=None) -> None:
        self._authorize("CreateOwnership")
        validate_username(user_name)
        validate_password(password)
        reg = self.registry

        def admit() -> None:
            if user_name in reg.users:
                raise ReferenceError_(65535, f"user already exists: {user_name}")
            if reg.max_users is not None and len(reg.users) >= reg.max_users:
                raise ReferenceError_(
                    65535, "unable to add user because the number of users has reached the limit"
                )

        admit()
        phc = reg.hasher.hash(password)  # argon2-cffi releases the GIL
        with reg.lock:
            admit()
            reg.users[user_name] = (phc, description or "")

    def update_password(self, user_name: str, old_password: str, new_password: str, reset_connection=False,
                        timeout=None) -> None:
        self._authorize("UpdateUser", about_user=user_name)
        validate_password(new_password)
        reg = self.registry
        if not reg.verify_password(user_name, old_password):
            raise ReferenceError_(1400, f"old password not correct for {user_name}: not authenticated")
        phc = reg.hasher.hash(new_password)
        with reg.lock:
            if user_name not in reg.users:
                raise ReferenceError_(1400, f"old password not correct for {user_name}: not authenticated")
            reg.users[user_name] = (phc, reg.users[user_name][1])

    def drop_user(self, user_name: str, timeout=None) -> None:
        self._authorize("DropOwnership")
        if user_name == "root":
            raise ReferenceError_(1401, "root user cannot be deleted: privilege not permitted")
        reg = self.registry
        with reg.lock:
            reg.users.pop(user_name, None)
            reg.user_roles.pop(user_name, None)
            reg._verified.pop(user_name, None)

    def list_users(self, timeout=None) -> List[str]:
        self._authorize("SelectOwnership")
        return sorted(self.registry.users)

    def describe_user(self, user_name: str, timeout=None) -> dict:
        self._authorize("SelectUser", about_user=user_name)
        validate_username(user_name)
        reg = self.registry
        stored = reg.users.get(user_name)
        if stored is None:
            return {}
        return {
            "user_name": user_name,
            "roles": tuple(sorted(reg.user_roles.get(user_name, ()))),
            "description": stored[1],
        }

    def check_privilege(self, user_name: str, privilege: str, object_type: str = "Global", object_name: str = "*",
                        db_name: str = "default", timeout=None) -> bool:
        self._authorize("SelectUser", about_user=user_name)
        validate_username(user_name)
        if object_type not in ("Global", "Collection", "User"):
            raise _invalid(
                f"invalid object type {object_type}, expected one of Global, Collection, User: invalid parameter"
            )
        reg = self.registry
        if user_name not in reg.users:
            raise ReferenceError_(65535, "not found the user, maybe the user isn't existed or internal system error")
        if user_name == "root":
            return True
        roles = reg.user_roles.get(user_name, set()) | {"public"}
        if "admin" in roles:
            return True
        db = db_name or "default"
        for role in roles:
            for grant in reg.grants.get(role, ()):
                if (grant[0] == object_type and grant[1] in (db, "*") and grant[2] in (object_name, "*")
                        and grant[3] in (privilege, "*")):
                    return True
        return False

    # roles

    def create_role(self, role_name: str, timeout=None, description: str = "") -> None:
        self._authorize("CreateOwnership")
        validate_role_name(role_name)
        reg = self.registry
        with reg.lock:
            if role_name in reg.roles:
                raise ReferenceError_(65535, f'role [name:"{role_name}"] already exists')
            if reg.max_roles is not None and len(reg.roles) >= reg.max_roles:
                raise ReferenceError_(65535, "unable to create role because the number of roles has reached the limit")
            reg.roles[role_name] = description or ""

    def drop_role(self, role_name: str, force_drop: bool = False, timeout=None) -> None:
        self._authorize("DropOwnership")
        validate_role_name(role_name)
        if role_name in ("admin", "public"):
            raise ReferenceError_(1401, f"the role[{role_name}] is a default role, which can't be dropped")
        reg = self.registry
        with reg.lock:
            if role_name not in reg.roles:
                raise ReferenceError_(65535, "not found the role, maybe the role isn't existed or internal system error")
            if reg.grants.get(role_name) and not force_drop:
                raise ReferenceError_(
                    65535, "fail to drop the role that it has privileges. Use REVOKE API to revoke privileges"
                )
            del reg.roles[role_name]
            reg.grants.pop(role_name, None)
            for roles in reg.user_roles.values():
                roles.discard(role_name)

    def list_roles(self, timeout=None) -> List[str]:
        self._authorize("SelectOwnership")
        return sorted(self.registry.roles)

    def grant_role(self, user_name: str, role_name: str, timeout=None) -> None:
        self._authorize("ManageOwnership")
        validate_username(user_name)
        validate_role_name(role_name)
        reg = self.registry
        with reg.lock:
            if role_name not in reg.roles:
                raise ReferenceError_(65535, "not found the role, maybe the role isn't existed or internal system error")
            if user_name not in reg.users:
                raise ReferenceError_(65535, "not found the user, maybe the user isn't existed or internal system error")
            reg.user_roles.setdefault(user_name, set()).add(role_name)

    def revoke_role(self, user_name: str, role_name: str, timeout=None) -> None:
        self._authorize("ManageOwnership")
        validate_username(user_name)
        validate_role_name(role_name)
        reg = self.registry
        with reg.lock:
            if role_name not in reg.roles:
                raise ReferenceError_(65535, "not found the role, maybe the role isn't existed or internal system error")
            reg.user_roles.get(user_name, set()).discard(role_name)

    def grant_privilege(self, role_name: str, object_type: str, privilege: str, object_name: str,
                        db_name: str = "", timeout=None) -> None:
        self._authorize("ManageOwnership")
        validate_role_name(role_name)
        reg = self.registry
        if object_type == "Global":
            object_name = "*"
        with reg.lock:
            if role_name not in reg.roles:
                raise ReferenceError_(65535, "not found the role, maybe the role isn't existed or internal system error")
            reg.grants.setdefault(role_name, set()).add(
                (object_type, db_name or "default", object_name, privilege, self.user)
            )

    def describe_role(self, role_name: str, timeout=None, db_name: str = "") -> dict:
        self._authorize("SelectOwnership")
        validate_role_name(role_name)
        reg = self.registry
        if role_name not in reg.roles:
            raise ReferenceError_(65535, "not found the role, maybe the role isn't existed or internal system error")
        db = db_name or "default"
        grants = sorted(
            (g for g in reg.grants.get(role_name, ()) if g[1] in (db, "*")),
            key=lambda g: (g[0], f"{g[1]}.{g[2]}", "Privilege" + g[3]),
        )
        return {
            "role": role_name,
            "description": reg.roles[role_name],
            "privileges": [
                {
                    "object_type": g[0],
                    "object_name": g[2],
                    "db_name": g[1],
                    "role_name": role_name,
                    "privilege": g[3],
                    "grantor_name": g[4],
                }
                for g in grants
            ],
        }
