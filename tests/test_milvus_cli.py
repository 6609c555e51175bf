"""milvus-cli (PyPI `milvus-cli`, Zilliz's command line for Milvus) manages users and roles on `milvus-rbac serve`
over gRPC, unmodified (issue 13). Its prompt runs each line as a click command on one shared client; the tests
run lines the same way, answering its prompts (passwords, confirmations) on standard input.
"""

from __future__ import annotations

import ast
import shlex
from typing import Any, Iterator, Optional

import pytest
from click.testing import CliRunner
from server_fixtures import Server, module_server

from milvus_rbac import MilvusClient

# Required, not skipped: the test extras install it.
from milvus_cli.scripts.milvus_client_cli import cli  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from module_server(tmp_path_factory, "milvus-cli", "--profile", "milvus-2.4", "--password-hash", "fast")


def run(line: str, stdin: Optional[str] = None) -> str:
    """One line typed at milvus-cli's prompt; its output."""
    result = CliRunner().invoke(cli, shlex.split(line), input=stdin, catch_exceptions=False)
    return str(result.output)


def listed(output: str) -> Any:
    """The names milvus-cli prints for `list users` (a Python list) or `list roles` (a one-column table)."""
    if "[" in output:
        start = output.rindex("[")
        return ast.literal_eval(output[start:output.index("]", start) + 1])
    rows = [line.strip("|").strip() for line in output.splitlines() if line.startswith("|")]
    return rows[1:]


def test_users_and_roles_through_milvus_cli(server: Server) -> None:
    out = run(f"connect -uri {server.url} -t root:Milvus")
    assert "success" in out.lower(), out
    out = run("create user -u user_1 -p P@ssw0rd")
    assert "Create user successfully" in out or "user_1" in out, out
    assert listed(run("list users")) == ["root", "user_1"]
    run("create role -r role_a")
    assert listed(run("list roles")) == ["admin", "public", "role_a"]
    out = run("grant role -r role_a -u user_1")
    root = MilvusClient(server.url, token="root:Milvus")
    assert root.describe_user("user_1")["roles"] == ("role_a",), out
    out = run("show user -u user_1")
    assert "role_a" in out, out
    out = run("update password -u user_1", stdin="P@ssw0rd\nNewP@ssw0rd\nNewP@ssw0rd\n")
    MilvusClient(server.url, token="user_1:NewP@ssw0rd").close()
    run("revoke role -r role_a -u user_1")
    assert root.describe_user("user_1")["roles"] == ()
    run("delete role -r role_a", stdin="y\n")
    run("delete user -u user_1", stdin="y\n")
    assert root.list_users() == ["root"] and root.list_roles() == ["admin", "public"]
    root.close()


def test_an_invalid_name_shows_the_servers_error(server: Server) -> None:
    run(f"connect -uri {server.url} -t root:Milvus")
    shown = run("create user -u 1bad -p P@ssw0rd")
    assert "1100" in shown and "the first character must be a letter" in shown, shown
