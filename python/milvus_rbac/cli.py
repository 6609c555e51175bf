"""The ``milvus-rbac`` command.

``milvus-rbac serve --db ./rbac.db --port 19530`` serves a registry over Milvus's RESTful API v2 until SIGINT or
SIGTERM. The root password of a new registry is read from the environment variable ``MILVUS_RBAC_ROOT_PASSWORD``
(never from the command line); it defaults to ``Milvus``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

from milvus_rbac._core import serve
from milvus_rbac.exceptions import MilvusException

__all__ = ["main"]

ROOT_PASSWORD_ENV = "MILVUS_RBAC_ROOT_PASSWORD"


def _limit(text: str) -> Optional[int]:
    if text.lower() == "none":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'none', got {text!r}") from None
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="milvus-rbac", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="serve a registry over Milvus's RESTful API v2")
    serve_cmd.add_argument("--db", default="./rbac.db", help="registry file, or :memory: (default ./rbac.db)")
    serve_cmd.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve_cmd.add_argument("--port", type=int, default=19530, help="port (default 19530; 0 picks a free one)")
    serve_cmd.add_argument("--log-level", default="info", choices=["error", "warn", "info", "debug"])
    serve_cmd.add_argument("--profile", choices=["docs", "milvus-2.4", "milvus-2.5", "milvus-2.6"])
    serve_cmd.add_argument("--super-user", action="append", dest="super_users", metavar="USER")
    serve_cmd.add_argument("--max-users", type=_limit, metavar="N|none")
    serve_cmd.add_argument("--max-roles", type=_limit, metavar="N|none")
    serve_cmd.add_argument("--no-authorization", action="store_true", help="check no credentials or privileges")
    serve_cmd.add_argument("--root-should-bind-role", action="store_true")
    serve_cmd.add_argument("--password-hash", choices=["strong", "fast"])
    return parser


def _serve(args: argparse.Namespace) -> int:
    settings = {
        "profile": args.profile,
        "super_users": args.super_users,
        "password_hash": args.password_hash,
        "root_password": os.environ.get(ROOT_PASSWORD_ENV),
        "authorization_enabled": False if args.no_authorization else None,
        "root_should_bind_role": True if args.root_should_bind_role else None,
    }
    if args.max_users is not None or "--max-users" in sys.argv:
        settings["max_users"] = args.max_users
    if args.max_roles is not None or "--max-roles" in sys.argv:
        settings["max_roles"] = args.max_roles
    given = {name: value for name, value in settings.items() if value is not None or name.startswith("max_")}
    try:
        serve(args.db, args.host, args.port, log_level=args.log_level, **given)
    except KeyboardInterrupt:
        return 0
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Run the ``milvus-rbac`` command with ``argv`` (default: the process's arguments); return its exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args)
    except MilvusException as error:
        print(f"milvus-rbac: {error.message}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
