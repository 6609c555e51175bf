"""The Milvus Node.js SDK, unmodified, against `milvus-rbac serve --profile milvus-2.4` over gRPC.

`tests/sdk/node/` installs `@zilliz/milvus2-sdk-node` twice under npm aliases (`milvus26`: the newest 2.6.x,
`milvus30`: the newest 3.0.x; versions pinned in its package.json and package-lock.json). Its `walkthrough.js`
runs the walk-through of Milvus's "Create Users & Roles" page through `new MilvusClient({address, token})` and
prints one JSON object per step: the Milvus status the SDK resolved with (`code`, legacy `error_code`, `reason`),
the result, or the error a call threw (gRPC `code`, `details`, `message`).

Each test starts a fresh server, runs the script against it with the walk-through's names (user_1, role_a) and
compares every step with what the real Milvus 2.3.5 answered the same script (EXPECTED below).

`npm ci` runs once per session when node_modules is missing or does not match package-lock.json (a clean clone);
node and npm must be on PATH and the npm registry reachable, and a failing `npm ci` fails the tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
from server_fixtures import ServerFactory, server_factory  # noqa: F401  (fixture)

NODE_DIR = Path(__file__).resolve().parent / "sdk" / "node"
SCRIPT = NODE_DIR / "walkthrough.js"
ROOT = "root:Milvus"
# Every call's deadline in the script (its `timeout` option); a server that does not answer fails a step at once.
CALL_TIMEOUT_MS = 3000
# The script stops itself after 15 call timeouts; this bounds the process if it does not.
RUN_TIMEOUT_S = 60
NPM_CI_TIMEOUT_S = 600

# ---------------------------------------------------------------------------------------------------------------
# Expected answers: the script's report from the real Milvus 2.3.5 (the `milvus-server` package's standalone
# build, v2.3.5-lite, authorization enabled), observed with @zilliz/milvus2-sdk-node 2.6.17 (milvus26) and 3.0.6
# (milvus30), run as `node walkthrough.js <sdk> 127.0.0.1:19530 root:Milvus znode<26|30>_` (names prefixed for
# the shared server, reported without the prefix; the prefix sorts after "root", so the lists' order is the bare
# names' order: Milvus lists users and roles in byte order of their names).
#
# The two lines differ only in what their protos decode: 3.0's RoleEntity and UserResult carry a `description`
# (absent from Milvus 2.3.5's answers, so the default ""), and 3.0 starts the ClientTelemetryService heartbeat after
# Connect, which Milvus 2.3.5 does not serve.


def _status(code: int = 0, error_code: str = "Success", reason: str = "") -> Dict[str, Any]:
    return {"code": code, "error_code": error_code, "reason": reason}


def _grpc_error(code: int, name: str, details: str) -> Dict[str, Any]:
    return {"code": code, "details": details, "message": f"{code} {name}: {details}"}


OK = _status()
AUTH_FAILURE = _grpc_error(16, "UNAUTHENTICATED", "auth check failure, please check username and password are correct")


def _step(step: str, status: Optional[Dict[str, Any]] = OK, result: Any = None, error: Any = None) -> Dict[str, Any]:
    return {"step": step, "status": status, "result": result, "error": error}


def _connected(step: str) -> Dict[str, Any]:
    return _step(step, None, {"connect_status": "CONNECTED", "error": None})


def _expected(line: str) -> List[Dict[str, Any]]:
    described = line == "milvus30"  # 3.0's protos decode a description, "" when absent

    def role(name: str) -> Dict[str, Any]:
        entity = {"name": name}
        if described:
            entity["description"] = ""
        return entity

    def user_result(user: str, roles: List[str]) -> Dict[str, Any]:
        result: Dict[str, Any] = {"user": {"name": user}, "roles": [role(name) for name in roles]}
        if described:
            result["description"] = ""
        return result

    if line == "milvus30":
        telemetry = _step(
            "telemetry",
            None,
            {"started": True, "answered": True, "supported": False},
            _grpc_error(12, "UNIMPLEMENTED", "unknown service milvus.proto.milvus.ClientTelemetryService"),
        )
    else:
        telemetry = _step("telemetry", None)  # 2.6 has no telemetry heartbeat

    return [
        _connected("connect"),
        _step("create_user"),
        _step("update_password"),
        _step("list_users", result=["root", "user_1"]),
        _step("create_role"),
        _step("list_roles", result=["admin", "public", "role_a"]),
        _step("grant_role"),
        _step("list_roles_with_users", result=[
            {"role": role("admin"), "users": []},
            {"role": role("public"), "users": []},
            {"role": role("role_a"), "users": [{"name": "user_1"}]},
        ]),
        _step("describe_user", result=[user_result("user_1", ["role_a"])]),
        _step("invalid_user_name", _status(
            1100,
            "IllegalArgument",
            "invalid user name 1bad, the first character must be a letter, but got %!s(uint8=49): invalid parameter",
        )),
        # The SDK's constructor does not throw: the Connect it started rejects, and the status stays CONNECTING.
        _step("wrong_password_connect", None, {"connect_status": "CONNECTING", "error": AUTH_FAILURE}),
        _step("wrong_password_call", None, error=AUTH_FAILURE),
        _connected("user_connect"),
        _step("user_describe_self", result=[user_result("user_1", ["role_a"])]),
        # ListCredUsers needs Global/SelectOwnership; Milvus 2.3.5 denies with a gRPC status, not a Milvus one.
        _step("missing_privilege", None, error=_grpc_error(
            7, "PERMISSION_DENIED", "PrivilegeSelectOwnership: permission deny to user_1")),
        _step("revoke_role"),
        _step("drop_role"),
        _step("drop_user"),
        _step("list_users_after_cleanup", result=["root"]),
        _step("list_roles_after_cleanup", result=["admin", "public"]),
        telemetry,
    ]


SDK_LINES = {"milvus26": "2.6.17", "milvus30": "3.0.6"}

# ---------------------------------------------------------------------------------------------------------------
# Installing the SDKs


def _installed_matches_lock() -> bool:
    """node_modules holds exactly what package-lock.json names: npm's own record of the tree
    (node_modules/.package-lock.json) lists the same packages, and the lock was made for this package.json."""
    try:
        lock = json.loads((NODE_DIR / "package-lock.json").read_text())
        installed = json.loads((NODE_DIR / "node_modules" / ".package-lock.json").read_text())
        manifest = json.loads((NODE_DIR / "package.json").read_text())
    except (OSError, ValueError):
        return False
    wanted = dict(lock.get("packages", {}))
    root = wanted.pop("", {})
    return bool(root.get("dependencies") == manifest.get("dependencies") and installed.get("packages") == wanted)


def _text(output: Any) -> str:
    """What a timed-out process printed (TimeoutExpired holds bytes even for a text-mode run)."""
    if isinstance(output, bytes):
        return output.decode("utf-8", "replace")
    return output or ""


def _locked(path: Path) -> Any:
    """An exclusive lock on `path` while `npm ci` runs, so parallel sessions do not install over each other."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover (Windows)
        return None
    handle = open(path, "w")
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


@pytest.fixture(scope="session")
def node_sdks() -> Iterator[Path]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("the Node.js SDK tests need `node` and `npm` on PATH", pytrace=False)
    lock = _locked(NODE_DIR / ".npm-ci.lock")
    try:
        if not _installed_matches_lock():
            started = time.monotonic()
            try:
                done = subprocess.run(
                    [npm, "ci", "--no-audit", "--no-fund"],
                    cwd=NODE_DIR,
                    capture_output=True,
                    text=True,
                    timeout=NPM_CI_TIMEOUT_S,
                )
            except subprocess.TimeoutExpired as timeout:
                pytest.fail(
                    f"`npm ci` in {NODE_DIR} did not finish within {NPM_CI_TIMEOUT_S} s:\n{_text(timeout.stderr)}",
                    pytrace=False,
                )
            if done.returncode != 0:
                pytest.fail(
                    f"`npm ci` in {NODE_DIR} failed with exit code {done.returncode} after "
                    f"{time.monotonic() - started:.1f} s:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}",
                    pytrace=False,
                )
            if not _installed_matches_lock():
                pytest.fail(f"`npm ci` in {NODE_DIR} left node_modules unlike package-lock.json", pytrace=False)
    finally:
        if lock is not None:
            lock.close()
    yield NODE_DIR / "node_modules"


# ---------------------------------------------------------------------------------------------------------------
# Running the walk-through


def run_walkthrough(line: str, address: str, token: str = ROOT, prefix: str = "") -> List[Dict[str, Any]]:
    """The script's report, one dict per step; a pytest failure if it did not run to its end."""
    command = ["node", str(SCRIPT), line, address, token, prefix, str(CALL_TIMEOUT_MS)]
    try:
        done = subprocess.run(command, cwd=NODE_DIR, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired as timeout:
        pytest.fail(
            f"{' '.join(command)} did not finish within {RUN_TIMEOUT_S} s; it printed:\n{_text(timeout.stdout)}",
            pytrace=False,
        )
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited with {done.returncode}:\n{done.stdout}\n{done.stderr[-3000:]}",
                    pytrace=False)
    try:
        return [json.loads(text) for text in done.stdout.splitlines() if text.strip()]
    except ValueError:
        pytest.fail(f"{' '.join(command)} printed something other than JSON lines:\n{done.stdout}", pytrace=False)


@pytest.mark.parametrize("line", sorted(SDK_LINES))
def test_walk_through_with_the_node_sdk(
    line: str, node_sdks: Path, server_factory: ServerFactory  # noqa: F811
) -> None:
    installed = json.loads((node_sdks / line / "package.json").read_text())
    assert (installed["name"], installed["version"]) == ("@zilliz/milvus2-sdk-node", SDK_LINES[line])

    srv = server_factory("--profile", "milvus-2.4")
    report = run_walkthrough(line, f"{srv.host}:{srv.port}")

    aborted = [record for record in report if record.get("step") == "abort"]
    if aborted:
        pytest.fail(
            f"the {line} walk-through against {srv.host}:{srv.port} stopped: {aborted[0]['reason']}\n"
            f"steps before it: {json.dumps(report[:-1], indent=1)}\nserver stderr:\n{srv.stderr()[-3000:]}",
            pytrace=False,
        )
    expected = _expected(line)
    assert [record["step"] for record in report] == [record["step"] for record in expected]
    mismatches = [
        f"{want['step']}:\n  expected {json.dumps(want, sort_keys=True)}\n  got      {json.dumps(got, sort_keys=True)}"
        for want, got in zip(expected, report)
        if got != want
    ]
    assert not mismatches, f"{line}: {len(mismatches)} step(s) differ from Milvus 2.3.5:\n" + "\n".join(mismatches)


# The expected answers are checked again against a real Milvus 2.3.5 with authorization on, when the session has one
# (`milvus_2_3_5_address`: MILVUS_URI and MILVUS_TOKEN, or the server MILVUS_RBAC_TEST_MILVUS=start starts, as CI
# does). The server may be shared: the script's names are prefixed, and it drops them.
@pytest.mark.parametrize("line", sorted(SDK_LINES))
def test_expected_answers_are_what_milvus_2_3_5_answers(line: str, node_sdks: Path, milvus_2_3_5_address: str) -> None:
    report = run_walkthrough(line, milvus_2_3_5_address, os.environ.get("MILVUS_TOKEN", ROOT), prefix=f"znode_{line}_")
    assert report == _expected(line)
