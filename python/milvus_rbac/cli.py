"""The ``milvus-rbac`` command: manage a registry's users, roles, grants and privilege groups, or serve it.

Usage (options may come before or after the command)::

    milvus-rbac --db ./rbac.db --user root users list
    milvus-rbac --uri http://127.0.0.1:19530 --user root users create user_1     # prompts for its password
    milvus-rbac --db ./rbac.db --user root grant privilege reader CollectionReadOnly --collection books
    milvus-rbac --db ./rbac.db --user root check user_1 Search --object-type Collection --object books
    milvus-rbac --db ./rbac.db --user root --json export backup.json
    milvus-rbac --db ./rbac.db --user root audit --since 1d --user alice
    milvus-rbac serve --db ./rbac.db --port 19530

Where: ``--db FILE`` (a registry file, created on first use, or ``etcd://HOST:PORT,.../PREFIX``) or ``--uri URL`` (a server, or a file), or the
environment variable ``MILVUS_RBAC_URI``. Who: ``--user USER``, whose password is prompted for, or read from
standard input with ``--password-stdin``; else the token ``user:password`` in ``MILVUS_RBAC_TOKEN``. Passwords
are never taken from the command line: new ones are prompted for too (or read from standard input, one per
line, after the caller's). ``--json`` prints results as JSON for scripts. Exit codes: 0 success, 1 an error
from the registry (printed with its Milvus code), 2 a usage error.

The root password of a new registry is read from ``MILVUS_RBAC_ROOT_PASSWORD`` (default ``Milvus``).
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import re
import sys
import tempfile
from typing import Any, Callable, Dict, List, Optional, Sequence, TextIO

from milvus_rbac._core import PROFILES as _PROFILES
from milvus_rbac._core import NO_PASSWORD, SETTINGS, MilvusClient, serve
from milvus_rbac.exceptions import AuthenticationError, MilvusException

__all__ = ["main", "format_table", "explain_text", "printable"]

ROOT_PASSWORD_ENV = "MILVUS_RBAC_ROOT_PASSWORD"
URI_ENV = "MILVUS_RBAC_URI"
TOKEN_ENV = "MILVUS_RBAC_TOKEN"
PROFILES = list(_PROFILES)  # from the Rust core
#: The settings ``serve`` reads from the environment rather than from a flag: root's password, which never goes on
#: a command line. Every other setting has a ``serve`` flag whose ``dest`` is its name (a test checks both).
SERVE_SETTINGS_FROM_ENV = {"root_password": ROOT_PASSWORD_ENV}
_GRANT_COLUMNS = ["object_type", "object_name", "db_name", "privilege", "grantor_name"]
_NOT_GIVEN: Any = object()  # a serve limit left out (``none`` means unlimited)


class UsageError(Exception):
    """A command given wrongly (exit code 2)."""


_CONTROLS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """`text` with control characters (but newlines) escaped, so that names and descriptions printed to a
    terminal cannot carry escape sequences.

    >>> printable("plain\\nline\\x1b[2Jwiped\\ttab")
    'plain\\nline\\\\x1b[2Jwiped\\\\x09tab'
    """
    return _CONTROLS.sub(lambda match: f"\\x{ord(match.group()):02x}" if ord(match.group()) < 0x100
                         else f"\\u{ord(match.group()):04x}", text)


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Rows under upper-case headers, in columns padded to their widest cell; sequences joined with commas.

    >>> print(format_table(["role", "privileges"], [["reader", ("Query", "Search")], ["admin", ()]]))
    ROLE    PRIVILEGES
    reader  Query, Search
    admin
    """

    def cell(value: Any) -> str:
        text = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
        return printable(text).replace("\n", "\\n")  # one line per row

    cells = [[column.upper() for column in columns]] + [[cell(value) for value in row] for row in rows]
    widths = [max(len(row[index]) for row in cells) for index in range(len(columns))]
    return "\n".join("  ".join(text.ljust(width) for text, width in zip(row, widths)).rstrip() for row in cells)


def explain_text(explanation: Dict[str, Any]) -> str:
    """``explain_privilege``'s answer as a sentence.

    >>> explain_text({"allowed": False, "user_name": "user_1", "privilege": "Search", "object_type": "Collection",
    ...               "object_name": "books", "db_name": "default", "reason": "denied"})
    'denied: no role of user_1 grants Search on Collection books in database default'
    >>> explain_text({"allowed": True, "user_name": "user_1", "privilege": "Search", "object_type": "Collection",
    ...               "object_name": "books", "db_name": "default", "reason": "grant", "role": "reader",
    ...               "group": "CollectionReadOnly",
    ...               "grant": {"object_type": "Global", "object_name": "books", "db_name": "default",
    ...                         "privilege": "CollectionReadOnly"}})
    'allowed: role reader grants CollectionReadOnly on Global books in database default (privilege group CollectionReadOnly)'
    """
    what = (
        f"{explanation['privilege']} on {explanation['object_type']} {explanation['object_name']} "
        f"in database {explanation['db_name']}"
    )
    user = explanation["user_name"]
    reason = explanation["reason"]
    if reason == "grant":
        grant = explanation["grant"]
        text = (
            f"allowed: role {explanation['role']} grants {grant['privilege']} on {grant['object_type']} "
            f"{grant['object_name']} in database {grant['db_name']}"
        )
        group = explanation.get("group")
        return f"{text} (privilege group {group})" if group else text
    sentences = {
        "root": f"allowed: {user} is root, who may do everything",
        "admin": f"allowed: {user} holds the admin role",
        "self": f"allowed: users may do this to themselves ({what})",
        "authorization_disabled": "allowed: authorization is disabled",
        "denied": f"denied: no role of {user} grants {what}",
    }
    return sentences.get(reason, f"{'allowed' if explanation['allowed'] else 'denied'}: {reason}")


class _Passwords:
    """Reads passwords: at a terminal with prompts (getpass), or from standard input, one per line."""

    def __init__(self, from_stdin: bool, stdin: TextIO) -> None:
        self._from_stdin = from_stdin
        self._stdin = stdin

    def read(self, prompt: str, confirm: bool = False) -> str:
        if self._from_stdin:
            line = self._stdin.readline()
            if not line:
                raise UsageError(f"expected a password on standard input ({prompt.rstrip(': ')})")
            return line.rstrip("\n").rstrip("\r") if line.endswith("\n") else line  # the line, spaces kept
        try:
            password = getpass.getpass(prompt)
            if confirm and self._stdin.isatty() and getpass.getpass("Repeat: ") != password:
                raise UsageError("the passwords do not match")
        except EOFError:
            raise UsageError(f"expected a password ({prompt.rstrip(': ')})") from None
        return password


class _Session:
    """What a command works with: the client, the password reader, the caller's credentials."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.passwords = _Passwords(args.password_stdin, sys.stdin)
        # `copy SRC DST` names its registries; every other command works on --db/--uri.
        uri = getattr(args, "source", None) or args.db or args.uri or os.environ.get(URI_ENV)
        if not uri:
            raise UsageError(f"give the registry: --db FILE or --uri URL (or set {URI_ENV})")
        self.user = ""
        self.password: Optional[str] = None
        self.token = ""
        if args.user:
            self.user = args.user
            self.password = self.passwords.read(f"Password for {args.user}: ")
        elif os.environ.get(TOKEN_ENV):
            self.token = os.environ[TOKEN_ENV]
            self.user, _, self.password = self.token.partition(":")
        self.client = self.open(uri)

    def open(self, uri: str) -> MilvusClient:
        """A client of the registry at ``uri``, with the caller's credentials and the command's options."""
        args = self.args
        settings: Dict[str, Any] = {}
        if not uri.startswith(("http://", "https://")):
            if args.profile:
                settings["profile"] = args.profile
            if os.environ.get(ROOT_PASSWORD_ENV):
                settings["root_password"] = os.environ[ROOT_PASSWORD_ENV]
        # copy: it applies to the side that is a file; check: it names the rules a server that cannot explain
        # is judged by (see _check).
        elif args.profile and not getattr(args, "source", None) and args.command != "check":
            raise UsageError("--profile applies to registry files; a server has its own")
        if args.protocol:
            if not uri.startswith(("http://", "https://")):
                raise UsageError("--protocol applies to a server (http://HOST:PORT)")
            settings["protocol"] = args.protocol
        for name in _CLIENT_TLS:
            if getattr(args, name):
                if not uri.startswith("https://"):
                    raise UsageError(f"--{name.replace('_', '-')} applies to an https:// server")
                settings[name] = getattr(args, name)
        if self.token:
            return MilvusClient(uri, token=self.token, **settings)
        return MilvusClient(uri, user=self.user, password=self.password or "", **settings)

    def emit(self, value: Any, human: Callable[[], str]) -> None:
        """Print ``value`` as JSON with ``--json``, else ``human()``."""
        text = json.dumps(value, indent=2) if self.args.json else printable(human())
        if text:
            print(text)

    def done(self, message: str) -> None:
        """Confirm a change (nothing with ``--json``: the exit code says it)."""
        if not self.args.json:
            print(printable(message))


# --- commands ------------------------------------------------------------------------------------------


def _users_list(s: _Session) -> None:
    users = s.client.list_users()
    s.emit(users, lambda: "\n".join(users))


def _users_create(s: _Session) -> None:
    password = s.passwords.read(f"Password for new user {s.args.name}: ", confirm=True)
    s.client.create_user(s.args.name, password, description=s.args.description)
    s.done(f"created user {s.args.name}")


def _users_drop(s: _Session) -> None:
    s.client.drop_user(s.args.name)
    s.done(f"dropped user {s.args.name}")


def _users_describe(s: _Session) -> Optional[int]:
    user = s.client.describe_user(s.args.name)
    if not user:  # describe_user's {}: printed as such with --json; the exit code says it either way
        s.emit(user, lambda: f"no such user: {s.args.name}")
        return 1
    s.emit(
        user,
        lambda: format_table(
            ["user_name", "roles", "description"], [[user["user_name"], user["roles"], user["description"]]]
        ),
    )
    return None


def _users_passwd(s: _Session) -> None:
    name = s.args.name
    if name == s.user and s.password is not None:
        old = s.password
    elif s.args.reset:
        old = ""
    else:
        old = s.passwords.read(f"Current password of {name}: ")
    new = s.passwords.read(f"New password for {name}: ", confirm=True)
    s.client.update_password(name, old, new)
    s.done(f"changed the password of {name}")


def _roles_list(s: _Session) -> None:
    roles = s.client.list_roles()
    s.emit(roles, lambda: "\n".join(roles))


def _roles_create(s: _Session) -> None:
    s.client.create_role(s.args.name, description=s.args.description)
    s.done(f"created role {s.args.name}")


def _roles_drop(s: _Session) -> None:
    s.client.drop_role(s.args.name, force_drop=s.args.force)
    s.done(f"dropped role {s.args.name}")


def _roles_describe(s: _Session) -> None:
    role = s.client.describe_role(s.args.name, db_name=s.args.database or "")

    def human() -> str:
        head = format_table(["role", "description"], [[role["role"], role["description"]]])
        grants = [[grant[column] for column in _GRANT_COLUMNS] for grant in role["privileges"]]
        return head + "\n\n" + (format_table(_GRANT_COLUMNS, grants) if grants else "(no grants)")

    s.emit(role, human)


def _grant_role(s: _Session) -> None:
    if s.args.action == "grant":
        s.client.grant_role(s.args.user_name, s.args.role)
        s.done(f"granted role {s.args.role} to {s.args.user_name}")
    else:
        s.client.revoke_role(s.args.user_name, s.args.role)
        s.done(f"revoked role {s.args.role} from {s.args.user_name}")


def _grant_privilege(s: _Session) -> None:
    args = s.args
    grant = args.action == "grant"
    if args.object_type:
        if args.collection:
            raise UsageError("--collection goes with grants v2; with --object-type, name the object with --object")
        method = s.client.grant_privilege if grant else s.client.revoke_privilege
        method(args.role, args.object_type, args.privilege, args.object or "*", db_name=args.database or "")
        target = f"{args.object_type} {args.object or '*'}"
    else:
        if args.object:
            raise UsageError("--object needs --object-type; for a collection (grants v2) use --collection")
        method_v2 = s.client.grant_privilege_v2 if grant else s.client.revoke_privilege_v2
        method_v2(args.role, args.privilege, args.collection or "*", db_name=args.database)
        target = f"collection {args.collection or '*'}"
    where = f" in database {args.database}" if args.database else ""
    s.done(f"{'granted' if grant else 'revoked'} {args.privilege} on {target}{where} "
           f"{'to' if grant else 'from'} role {args.role}")


def _groups_list(s: _Session) -> None:
    groups = s.client.list_privilege_groups()
    s.emit(
        groups,
        lambda: format_table(["privilege_group", "privileges"], [[g["privilege_group"], g["privileges"]] for g in groups]),
    )


def _groups_create(s: _Session) -> None:
    s.client.create_privilege_group(s.args.name)
    s.done(f"created privilege group {s.args.name}")


def _groups_drop(s: _Session) -> None:
    s.client.drop_privilege_group(s.args.name)
    s.done(f"dropped privilege group {s.args.name}")


def _groups_add(s: _Session) -> None:
    s.client.add_privileges_to_group(s.args.name, s.args.privileges)
    s.done(f"added {', '.join(s.args.privileges)} to privilege group {s.args.name}")


def _groups_remove(s: _Session) -> None:
    s.client.remove_privileges_from_group(s.args.name, s.args.privileges)
    s.done(f"removed {', '.join(s.args.privileges)} from privilege group {s.args.name}")


def _check(s: _Session) -> None:
    args = s.args
    try:
        explanation = s.client.explain_privilege(
            args.user_name, args.privilege, args.object_type, args.object, args.database
        )
    except MilvusException as error:
        if "is not available over Milvus's gRPC protocol" not in error.message:
            raise
        # A real Milvus cannot explain: decide with our rules on a copy of its live roles and grants.
        from milvus_rbac import policy

        explanation = policy.explain_live(s.client, args.user_name, args.privilege, args.object_type, args.object,
                                          args.database, profile=args.profile or "milvus-2.4")
    s.emit(explanation, lambda: explain_text(explanation))


def _summary(backup: Any) -> str:
    """What a backup holds, counted (in either format: Milvus's leaves empty lists out).

    >>> _summary({"users": [{}], "roles": [], "grants": [{}, {}], "privilege_groups": []})
    'users: 1, roles: 0, grants: 2, privilege groups: 0'
    >>> _summary({"rbac_meta": {"roles": [{"name": "r"}]}})
    'users: 0, roles: 1, grants: 0, privilege groups: 0'
    >>> _summary(b"\\x12\\x03\\n\\x01r")
    "Milvus's RBACMeta (5 bytes)"
    """
    if isinstance(backup, bytes):
        return f"Milvus's RBACMeta ({len(backup)} bytes)"
    backup = backup.get("rbac_meta", backup)
    keys = ("users", "roles", "grants", "privilege_groups")
    return ", ".join(f"{key.replace('_', ' ')}: {len(backup.get(key) or [])}" for key in keys)


def _export(s: _Session) -> None:
    backup = s.client.backup_rbac(format=s.args.format)
    _write_output(s, json.dumps(backup, indent=2) + "\n", f"exported {_summary(backup)} to {s.args.file}")


def _write_output(s: _Session, text: str, done: str) -> None:
    """Write an export to standard output ('-') or to a new private file (``--force`` replaces one)."""
    if s.args.file == "-":
        sys.stdout.write(text)
        return
    try:
        _write_private(s.args.file, text, replace=s.args.force)
    except FileExistsError:
        raise UsageError(f"{s.args.file} exists; give --force to replace it") from None
    except OSError as error:
        raise UsageError(f"cannot write {s.args.file}: {error.strerror}") from None
    s.done(done)


def _write_private(path: str, text: str, replace: bool) -> None:
    """Write `text` to `path` as a new file of mode 0600 (a backup holds password hashes), all at once: it is
    written and synced under a temporary name beside `path`, then linked in (which refuses an existing `path`,
    a symbolic link included) or, with `replace`, renamed over it (which replaces a link, never its target)."""
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=".milvus-rbac-export-", dir=directory)  # mode 0600
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _import(s: _Session) -> None:
    """Restore an export of either format, or Milvus's RBACMeta as protobuf bytes (what BackupRBAC answers)."""
    try:
        if s.args.file == "-":
            data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
        else:
            with open(s.args.file, "rb") as file:
                data = file.read()
    except OSError as error:
        raise UsageError(f"cannot read {s.args.file}: {error.strerror}") from None
    backup: Any
    try:
        backup = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        # Protobuf begins with a field's tag (a control byte), JSON with a brace after white space.
        if data.lstrip(b" \t\r\n")[:1] in (b"{", b"[") and data[:1] in (b"{", b"[", b" ", b"\t", b"\r"):
            raise UsageError(f"{s.args.file} is not JSON: {error}") from None
        backup = data
    s.client.restore_rbac(backup)
    s.done(f"imported {_summary(backup)} from {s.args.file}")


def _planned(s: _Session) -> Any:
    """The plan of FILE's policy against the registry (imported here: the other commands need no YAML)."""
    from milvus_rbac import policy

    return policy.plan(s.client, _load_policy(s.args.file), prune=s.args.prune)


def _policy_plan(s: _Session) -> None:
    changes = _planned(s)
    s.emit(changes.to_json(), lambda: str(changes))


def _policy_apply(s: _Session) -> None:
    from milvus_rbac import policy

    changes = _planned(s)
    policy.apply(s.client, changes)
    s.emit(changes.to_json(),
           lambda: f"{changes}\napplied {len(changes.steps)} changes" if changes.steps else "no changes")


def _policy_drift(s: _Session) -> Optional[int]:
    changes = _planned(s)
    s.emit(changes.to_json(), lambda: f"drift: the registry differs from {s.args.file}:\n{changes}"
           if changes.steps else f"no drift from {s.args.file}")
    return 1 if changes.steps else None


def _policy_export(s: _Session) -> None:
    from milvus_rbac import policy

    text = policy.export(s.client, profile=s.args.profile)
    _write_output(s, text, f"exported the registry's policy to {s.args.file}")


def _policy_test(args: argparse.Namespace) -> int:
    """``policy test FILE``: the expectations, checked on an in-memory registry built from the file (no registry,
    no credentials)."""
    from milvus_rbac import policy

    rules = _load_policy(args.file)
    failures = policy.test(rules)
    if args.json:
        print(json.dumps([{"expectation": str(e), "where": str(e.where), "explanation": x} for e, x in failures],
                         indent=2))
    else:
        for expectation, explanation in failures:
            print(printable(policy.describe_failure(expectation, explanation)))
        held = len(rules.expectations) - len(failures)
        print(f"{held} of {len(rules.expectations)} expectations hold")
    return 1 if failures else 0


def _load_policy(path: str) -> Any:
    from milvus_rbac import policy

    try:
        return policy.load(path)
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    except policy.PolicyError as error:
        raise UsageError(str(error)) from None


def _copy(s: _Session) -> None:
    backup = s.client.backup_rbac()
    with s.open(s.args.destination) as target:
        target.restore_rbac(backup)
        copied = target.backup_rbac()
    if copied != backup:
        raise MilvusException(
            message=f"{s.args.destination} does not hold what was copied: its users, roles, grants or groups differ"
        )
    s.done(f"copied {_summary(backup)} from {s.args.source} to {s.args.destination}")
    without = [user["user_name"] for user in backup["users"] if user["password_hash"] == NO_PASSWORD]
    if without:
        # A Milvus without BackupRBAC (before 2.4.10) gives no password hashes away, and a registry copied from
        # one holds none to give.
        s.done(f"{len(without)} users came without a password ({', '.join(without)}: {s.args.source} holds no "
               f"password hash of theirs); each logs in once a super user sets one: "
               f"milvus-rbac users passwd NAME --reset")


# --- audit ---------------------------------------------------------------------------------------------------

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _since(text: str) -> float:
    """``--since``: a duration back from now (``30m``, ``2h``, ``7d``), or a moment in ISO 8601; as seconds since
    the epoch."""
    import datetime
    import time

    duration = _DURATION.match(text.strip())
    if duration:
        return time.time() - float(duration.group(1)) * _SECONDS[duration.group(2)]
    try:
        moment = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a duration (30m, 2h, 7d) or an ISO 8601 time (2026-12-04T10:00:00Z), got {text!r}") from None
    return moment.timestamp()


def _audit_line(record: Dict[str, Any]) -> List[Any]:
    target = " ".join(f"{name}={value}" for name, value in record["target"].items())
    result = record["result"] if record["result"] == "ok" else f"{record['result']} ({record['code']}): {record['message']}"
    return [record["seq"], record["time"], record["user"] or "-", record["operation"], target, result]


def _audit(s: _Session) -> Optional[int]:
    if s.args.verify:
        check = s.client.verify_audit()
        s.emit(check, lambda: (f"the audit trail is intact: records {check['first']} to {check['last']}, newest hash "
                               f"{check['head']}" if check["intact"] else f"the audit trail was tampered with: "
                               f"{check['problem']}"))
        return None if check["intact"] else 1
    records = s.client.audit(user_name=s.args.audit_user, since=s.args.since)
    s.emit(records, lambda: format_table(["seq", "time", "user", "operation", "target", "result"],
                                         [_audit_line(record) for record in records]))
    return None


# --- serve -------------------------------------------------------------------------------------------------


def _limit(text: str) -> Optional[int]:
    if text.lower() == "none":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'none', got {text!r}") from None


def _root_password_from(source: str) -> str:
    """Root's password from a file's first line, or from standard input ('-'; prompted at a terminal): a file or
    a pipe keeps it out of the environment, which others may read (``ps eww``, /proc/PID/environ)."""
    try:
        if source == "-":
            if sys.stdin.isatty():
                return getpass.getpass("root password for a new registry: ")
            line = sys.stdin.readline()
        else:
            with open(source, encoding="utf-8") as file:
                line = file.readline()
    except OSError as error:
        raise UsageError(f"cannot read {source}: {error.strerror}") from None
    return line.rstrip("\r\n")  # the line's end only: spaces belong to the password


def _serve(args: argparse.Namespace) -> None:
    # None leaves a setting out, but for the limits (where it is unlimited): those are _NOT_GIVEN when left out.
    given: Dict[str, Any] = {}
    for name in SETTINGS:
        env = SERVE_SETTINGS_FROM_ENV.get(name)
        value = os.environ.get(env) if env else getattr(args, name)
        if value is not _NOT_GIVEN:
            given[name] = value
    if args.root_password_file is not None:
        if given.get("root_password") is not None:
            raise UsageError(f"give root's password by {ROOT_PASSWORD_ENV} or --root-password-file, not both")
        given["root_password"] = _root_password_from(args.root_password_file)
    try:
        serve(args.db, args.host, args.port, log_level=args.log_level, max_connections=args.max_connections,
              idle_timeout=args.idle_timeout, header_timeout=args.header_timeout,
              server_pem_path=args.server_pem_path, server_key_path=args.server_key_path,
              ca_pem_path=args.ca_pem_path, max_failed_logins=args.max_failed_logins,
              max_failed_logins_per_address=args.max_failed_logins_per_address, **given)
    except KeyboardInterrupt:
        pass


# --- the parser ----------------------------------------------------------------------------------------------


def _common(caller: bool = True) -> argparse.ArgumentParser:
    """The options every registry command takes, before or after its name (`audit` takes ``--user`` for another
    purpose: without `caller`, the option is left out)."""
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    where = common.add_mutually_exclusive_group()
    where.add_argument("--db", metavar="FILE", help="registry file (created on first use), or etcd://HOST:PORT,.../PREFIX")
    where.add_argument("--uri", metavar="URL", help=f"server (http://HOST:PORT) or file; default ${URI_ENV}")
    common.add_argument("--protocol", choices=["grpc", "rest"],
                        help="how to reach a server: Milvus's gRPC protocol (default) or its REST API v2")
    common.add_argument("--ca-pem-path", metavar="FILE", help="https://: the CA that signed the server's certificate")
    common.add_argument("--client-pem-path", metavar="FILE", help="https:// with mutual TLS: this client's certificate")
    common.add_argument("--client-key-path", metavar="FILE", help="https:// with mutual TLS: its private key")
    common.add_argument("--server-name", metavar="NAME", help="https://: the name the server's certificate carries")
    if caller:
        common.add_argument("--user", metavar="USER", help=f"connect as USER (password prompted); default ${TOKEN_ENV}")
    common.add_argument("--password-stdin", action="store_true",
                        help="read passwords from standard input, one per line, instead of prompting")
    common.add_argument("--json", action="store_true", help="print results as JSON")
    common.add_argument("--profile", choices=PROFILES, help="profile of a registry file created by this command")
    return common


#: pymilvus's TLS arguments, which the CLI takes as options of the same names.
_CLIENT_TLS = ("ca_pem_path", "client_pem_path", "client_key_path", "server_name")
_COMMON_DEFAULTS = {"db": None, "uri": None, "protocol": None, "user": None, "password_stdin": False, "json": False,
                    "profile": None, **{name: None for name in _CLIENT_TLS}}


def _parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="milvus-rbac",
        description="Manage a Milvus RBAC registry (users, roles, grants, privilege groups), or serve it.",
        epilog="Passwords are prompted for (or read from standard input), never taken from the command line. "
        "Exit codes: 0 success, 1 registry error, 2 usage error.",
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def leaf(group: Any, name: str, run: Callable[[_Session], Optional[int]], help: str) -> argparse.ArgumentParser:
        command: argparse.ArgumentParser = group.add_parser(name, parents=[common], help=help, description=help)
        command.set_defaults(run=run)
        return command

    users = commands.add_parser("users", help="list, create, drop, describe users; change passwords")
    users_commands = users.add_subparsers(dest="subcommand", required=True, metavar="ACTION")
    leaf(users_commands, "list", _users_list, "list the users")
    create = leaf(users_commands, "create", _users_create, "create a user (its password is prompted for)")
    create.add_argument("name")
    create.add_argument("--description")
    leaf(users_commands, "drop", _users_drop, "drop a user").add_argument("name")
    leaf(users_commands, "describe", _users_describe, "show a user's roles and description").add_argument("name")
    passwd = leaf(users_commands, "passwd", _users_passwd, "change a user's password (prompted for)")
    passwd.add_argument("name")
    passwd.add_argument("--reset", action="store_true",
                        help="do not ask for the current password (for super users)")

    roles = commands.add_parser("roles", help="list, create, drop, describe roles")
    roles_commands = roles.add_subparsers(dest="subcommand", required=True, metavar="ACTION")
    leaf(roles_commands, "list", _roles_list, "list the roles")
    create = leaf(roles_commands, "create", _roles_create, "create a role")
    create.add_argument("name")
    create.add_argument("--description", default="")
    drop = leaf(roles_commands, "drop", _roles_drop, "drop a role")
    drop.add_argument("name")
    drop.add_argument("--force", action="store_true", help="drop it with its grants (Milvus 2.5+)")
    describe = leaf(roles_commands, "describe", _roles_describe, "show a role's grants")
    describe.add_argument("name")
    describe.add_argument("--database", metavar="DB", help="grants in database DB ('*' for all; default: default)")

    for action in ("grant", "revoke"):
        verb = commands.add_parser(action, help=f"{action} a role to a user, or a privilege to a role")
        verb.set_defaults(action=action)
        kinds = verb.add_subparsers(dest="kind", required=True, metavar="WHAT")
        role = leaf(kinds, "role", _grant_role, f"{action} a role {'to' if action == 'grant' else 'from'} a user")
        role.add_argument("user_name", metavar="USER")
        role.add_argument("role", metavar="ROLE")
        privilege = leaf(kinds, "privilege", _grant_privilege,
                         f"{action} a privilege or privilege group: on a collection (grants v2, default), or on "
                         "an object with --object-type (grants v1)")
        privilege.add_argument("role", metavar="ROLE")
        privilege.add_argument("privilege", metavar="PRIVILEGE")
        privilege.add_argument("--collection", metavar="NAME", help="collection (grants v2; default '*')")
        privilege.add_argument("--object-type", choices=["Global", "Collection", "User"], help="grants v1")
        privilege.add_argument("--object", metavar="NAME", help="object of --object-type (default '*')")
        privilege.add_argument("--database", metavar="DB", help="database (default: default)")

    groups = commands.add_parser("groups", help="privilege groups (Milvus 2.5+)")
    groups_commands = groups.add_subparsers(dest="subcommand", required=True, metavar="ACTION")
    leaf(groups_commands, "list", _groups_list, "list the privilege groups, custom then built-in")
    leaf(groups_commands, "create", _groups_create, "create a custom privilege group").add_argument("name")
    leaf(groups_commands, "drop", _groups_drop, "drop a custom privilege group").add_argument("name")
    for name, run, help in (("add", _groups_add, "add privileges to a group"),
                            ("remove", _groups_remove, "remove privileges from a group")):
        change = leaf(groups_commands, name, run, help)
        change.add_argument("name")
        change.add_argument("privileges", nargs="+", metavar="PRIVILEGE")

    check = leaf(commands, "check", _check, "explain whether a user has a privilege on an object")
    check.add_argument("user_name", metavar="USER")
    check.add_argument("privilege", metavar="PRIVILEGE")
    check.add_argument("--object-type", default="Global", choices=["Global", "Collection", "User"])
    check.add_argument("--object", default="*", metavar="NAME")
    check.add_argument("--database", default="default", metavar="DB")

    export = leaf(commands, "export", _export,
                  "write users, roles, grants and groups to a new JSON file, mode 0600 ('-': stdout)")
    export.add_argument("file", metavar="FILE")
    export.add_argument("--force", action="store_true", help="replace FILE if it exists")
    export.add_argument("--format", choices=["milvus-rbac", "milvus"], default="milvus-rbac",
                        help="milvus: Milvus's RBACMeta as milvus-backup writes it (no descriptions; for RestoreRBAC)")
    leaf(commands, "import", _import,
         "restore a file written by export, a milvus-backup RBAC backup (JSON) or Milvus's RBACMeta (protobuf) "
         "('-': stdin), all or nothing").add_argument("file", metavar="FILE")

    policies = commands.add_parser("policy", help="access control as code: plan, apply, drift, export a YAML policy")
    policy_commands = policies.add_subparsers(dest="subcommand", required=True, metavar="ACTION")
    for name, run, help in (
        ("plan", _policy_plan, "print the changes that would make the registry hold FILE's policy"),
        ("apply", _policy_apply, "make those changes, in a safe order; stop at the first failure"),
        ("drift", _policy_drift, "exit 1 if the registry differs from FILE's policy, and say how"),
    ):
        command = leaf(policy_commands, name, run, help)
        command.add_argument("file", metavar="FILE")
        command.add_argument("--prune", action="store_true",
                             help="also remove what FILE does not mention (never root, admin or public)")
    tested = policy_commands.add_parser(
        "test", help="check FILE's expectations on an in-memory registry built from it (no registry needed)")
    tested.add_argument("file", metavar="FILE")
    tested.add_argument("--json", action="store_true", help="the failures as JSON")
    exported = leaf(policy_commands, "export", _policy_export,
                    "write the registry's state as a policy file, mode 0600 ('-': stdout)")
    exported.add_argument("file", metavar="FILE")
    exported.add_argument("--force", action="store_true", help="replace FILE if it exists")

    # `--user` here picks whose records to show: say who connects before the command, or in $MILVUS_RBAC_TOKEN.
    audit = commands.add_parser(
        "audit", parents=[_common(caller=False)],
        help="list the audit trail: every change, refused change, denial and failed login (--verify: check it)",
        description="List the audit trail, oldest first; with --verify, check its hash chain. Connect as a user "
        f"before the command (milvus-rbac --user root audit --user alice) or with ${TOKEN_ENV}: here --user picks "
        "the records. Reading the trail needs the BackupRBAC privilege.")
    audit.set_defaults(run=_audit)
    audit.add_argument("--since", type=_since, metavar="WHEN",
                       help="records from WHEN on: a duration back (30m, 2h, 7d) or an ISO 8601 time")
    audit.add_argument("--user", dest="audit_user", metavar="USER", help="only the records of USER's calls")
    audit.add_argument("--verify", action="store_true",
                       help="check every record's hash, the chain and its bounds; exit 1 if the trail was changed")

    copy = leaf(commands, "copy", _copy,
                "copy users (with their password hashes), roles, grants and groups from SRC to DST, all or nothing, "
                "and check that DST then holds them")
    copy.add_argument("source", metavar="SRC", help="registry file, etcd://..., or server")
    copy.add_argument("destination", metavar="DST", help="registry file, etcd://..., or server")

    serve_cmd = commands.add_parser("serve", help="serve a registry over Milvus's gRPC protocol and RESTful API v2")
    serve_cmd.add_argument(
        "--db", default="./rbac.db", help="registry file, :memory:, or etcd://HOST:PORT,.../PREFIX (default ./rbac.db)"
    )
    serve_cmd.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve_cmd.add_argument("--port", type=int, default=19530, help="port (default 19530; 0 picks a free one)")
    serve_cmd.add_argument("--log-level", default="info", choices=["error", "warn", "info", "debug"])
    serve_cmd.add_argument("--root-password-file", metavar="FILE",
                           help=f"root's password for a new registry, from FILE's first line ('-': standard input), "
                                f"instead of ${ROOT_PASSWORD_ENV}")
    # TLS as Milvus has it (tlsMode 1 with the server's files; 2 with a client CA too), by Milvus's names.
    serve_cmd.add_argument("--server-pem-path", metavar="FILE", help="serve over TLS with this certificate (PEM)")
    serve_cmd.add_argument("--server-key-path", metavar="FILE", help="the certificate's private key (PEM)")
    serve_cmd.add_argument("--ca-pem-path", metavar="FILE",
                           help="mutual TLS: clients must present a certificate this CA (PEM) signed")
    # Guessing: failed logins a minute before further guesses are refused without an argon2 run (0: no limit).
    serve_cmd.add_argument("--max-failed-logins", type=int, default=30, metavar="N",
                           help="per user name, a minute (default 30; 0: no limit)")
    serve_cmd.add_argument("--max-failed-logins-per-address", type=int, default=0, metavar="N",
                           help="per client address, a minute (default 0: no limit)")
    # Bounds on connections, so that stalled or idle clients cannot hold the server's descriptors.
    serve_cmd.add_argument("--max-connections", type=int, metavar="N",
                           help="connections open at once (default: the descriptor limit less 32)")
    serve_cmd.add_argument("--idle-timeout", type=float, default=60.0, metavar="SECONDS",
                           help="close a connection that moved no byte for this long (default 60)")
    serve_cmd.add_argument("--header-timeout", type=float, default=10.0, metavar="SECONDS",
                           help="refuse an HTTP/1 request whose headers take longer (default 10)")
    # The settings: each flag's ``dest`` is the setting's name (see SERVE_SETTINGS_FROM_ENV).
    serve_cmd.add_argument("--profile", choices=PROFILES)
    serve_cmd.add_argument("--super-user", action="append", dest="super_users", metavar="USER")
    serve_cmd.add_argument("--max-users", type=_limit, default=_NOT_GIVEN, metavar="N|none")
    serve_cmd.add_argument("--max-roles", type=_limit, default=_NOT_GIVEN, metavar="N|none")
    serve_cmd.add_argument("--no-authorization", action="store_const", const=False, dest="authorization_enabled",
                           help="check no credentials or privileges")
    serve_cmd.add_argument("--root-should-bind-role", action="store_const", const=True)
    serve_cmd.add_argument("--password-hash", choices=["strong", "fast"])
    serve_cmd.add_argument("--audit-retention", type=int, default=_NOT_GIVEN, metavar="N",
                           help="audit records a new registry keeps, the newest (default 100000)")
    return parser


def _error(error: MilvusException, as_json: bool, anonymous: bool = False) -> None:
    """Report a registry error on stderr: as JSON with ``--json``, else as a line (with a hint when the caller
    gave no credentials)."""
    if as_json:
        report = {"error": {"type": type(error).__name__, "code": error.code, "message": error.message}}
        print(json.dumps(report), file=sys.stderr)
        return
    print(f"milvus-rbac: {error.message} (code {error.code})", file=sys.stderr)
    if anonymous and isinstance(error, AuthenticationError):
        print(f"milvus-rbac: connect with --user USER, or set {TOKEN_ENV}=user:password", file=sys.stderr)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the ``milvus-rbac`` command with ``argv`` (default: the process's arguments); return its exit code.

    Usage errors exit through ``SystemExit(2)``, as argparse does.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "policy" and args.subcommand == "test":
        try:
            return _policy_test(args)
        except UsageError as error:
            parser.error(str(error))
        except MilvusException as error:
            _error(error, args.json)
            return 1
    if args.command == "serve":
        try:
            _serve(args)
            return 0
        except MilvusException as error:
            _error(error, False)
            return 1
        except UsageError as error:
            parser.error(str(error))
    for name, default in _COMMON_DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, default)
    session: Optional[_Session] = None
    try:
        session = _Session(args)
        return args.run(session) or 0
    except UsageError as error:
        parser.error(str(error))
    except MilvusException as error:
        _error(error, args.json, anonymous=not (args.user or os.environ.get(TOKEN_ENV)))
        return 1
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    finally:
        if session is not None:
            session.client.close()
