"""The Milvus Java SDK, unmodified, against `milvus-rbac serve --profile milvus-2.4` over gRPC.

`tests/sdk/java/` is a Maven project on `io.milvus:milvus-sdk-java` (SDK_VERSION below, from Maven Central). Its
`Walkthrough` runs the walk-through of Milvus's "Create Users & Roles" page through `MilvusClientV2` (createUser,
updatePassword, listUsers, createRole, listRoles, grantRole, describeUser, describeRole, an invalid name, a wrong
password, a missing privilege, and the clean-up) and prints one JSON object per step: the result, or what the SDK
threw (its error code, the server's code and legacy code, the message).

Each test starts a fresh server, runs the program against it and compares every step with what the real Milvus
2.3.5 answered the same program (EXPECTED below); with a real Milvus 2.3.5 in the session (`milvus_2_3_5_address`:
MILVUS_URI, or the one MILVUS_RBAC_TEST_MILVUS=start starts, as CI does), EXPECTED is checked against it again.

SDK lines: the newest 2.6 release on Maven Central is used. No 3.0 release of milvus-sdk-java is on Maven Central
(maven-metadata.xml lists 2.6.22 as latest and 3.0.0 to 3.0.6 answer 404, checked on 2026-12-03), although the
SDK's repository prepares 3.0.x: the 3.0 line joins this test when it is published (a second SDK_VERSION).

The jar is built once per change of the project (`mvn -q -B package`, a stamp of the sources' hash); java and mvn
must be on PATH and Maven Central reachable, and a failing build fails the tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
from server_fixtures import ServerFactory, server_factory  # noqa: F401  (fixture)

JAVA_DIR = Path(__file__).resolve().parent / "sdk" / "java"
JAR = JAVA_DIR / "target" / "walkthrough.jar"
STAMP = JAVA_DIR / "target" / ".build-stamp"
SDK_VERSION = "2.6.22"
ROOT = "root:Milvus"
CALL_TIMEOUT_MS = 3000
RUN_TIMEOUT_S = 90
BUILD_TIMEOUT_S = 900

# ---------------------------------------------------------------------------------------------------------------
# Expected answers: the program's report from the real Milvus 2.3.5 (the `milvus` package's standalone build,
# v2.3.5-lite, authorization on) with milvus-sdk-java 2.6.22, run as `java -jar target/walkthrough.jar
# 127.0.0.1:19530 root:Milvus zjava_ 3000` (names prefixed for a shared server, reported without the prefix).


def _step(step: str, result: Any = None, error: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    return {"step": step, "result": result, "error": error}


def _sdk_error(sdk_code: str, code: int, legacy_code: int, message: str) -> Dict[str, Any]:
    return {"sdk_code": sdk_code, "code": code, "legacy_code": legacy_code, "message": message}


USER_1 = {"user": "user_1", "roles": ["role_a"]}

EXPECTED: List[Dict[str, Any]] = [
    _step("connect", "connected"),
    _step("create_user"),
    _step("update_password"),
    _step("list_users", ["root", "user_1"]),
    _step("create_role"),
    _step("list_roles", ["admin", "public", "role_a"]),
    _step("grant_role"),
    _step("describe_user", USER_1),
    _step("describe_role", 0),
    # The server's status as the SDK reports it: code 1100, legacy IllegalArgument (5), Milvus's message.
    _step("invalid_user_name", error=_sdk_error(
        "SERVER_ERROR", 1100, 5,
        "invalid user name 1bad, the first character must be a letter, but got %!s(uint8=49): invalid parameter")),
    # The constructor's Connect fails with the gRPC status, which the SDK lets through.
    _step("wrong_password_connect", error={
        "class": "io.milvus.shaded.io.grpc.StatusRuntimeException",
        "message": "UNAUTHENTICATED: auth check failure, please check username and password are correct",
    }),
    _step("user_connect", "connected"),
    _step("user_describe_self", USER_1),
    # ListCredUsers needs Global/SelectOwnership; Milvus 2.3.5 denies with a gRPC status, not a Milvus one.
    _step("missing_privilege", error=_sdk_error(
        "RPC_ERROR", 0, 0,
        "io.milvus.shaded.io.grpc.StatusRuntimeException: PERMISSION_DENIED: PrivilegeSelectOwnership: "
        "permission deny to user_1")),
    _step("revoke_role"),
    _step("drop_role"),
    _step("drop_user"),
    _step("list_users_after_cleanup", ["root"]),
    _step("list_roles_after_cleanup", ["admin", "public"]),
]

# ---------------------------------------------------------------------------------------------------------------
# Building the program


def _sources_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted([JAVA_DIR / "pom.xml", *(JAVA_DIR / "src").rglob("*.java")]):
        digest.update(path.relative_to(JAVA_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _locked(path: Path) -> Any:
    """An exclusive lock on `path` while Maven builds, so parallel sessions do not build over each other."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover (Windows)
        return None
    handle = open(path, "w")
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def _text(output: Any) -> str:
    if isinstance(output, bytes):
        return output.decode("utf-8", "replace")
    return output or ""


@pytest.fixture(scope="session")
def walkthrough_jar() -> Iterator[Path]:
    java, mvn = shutil.which("java"), shutil.which("mvn")
    if java is None or mvn is None:
        pytest.fail("the Java SDK tests need `java` and `mvn` on PATH", pytrace=False)
    pom = (JAVA_DIR / "pom.xml").read_text()
    assert f"<milvus.sdk.version>{SDK_VERSION}</milvus.sdk.version>" in pom, "pom.xml and SDK_VERSION disagree"
    lock = _locked(JAVA_DIR / ".mvn-build.lock")
    try:
        wanted = _sources_hash()
        built = STAMP.read_text() if STAMP.exists() and JAR.exists() else ""
        if built != wanted:
            try:
                done = subprocess.run([mvn, "-q", "-B", "package"], cwd=JAVA_DIR, capture_output=True, text=True,
                                      timeout=BUILD_TIMEOUT_S)
            except subprocess.TimeoutExpired as timeout:
                pytest.fail(f"`mvn package` in {JAVA_DIR} did not finish within {BUILD_TIMEOUT_S} s:\n"
                            f"{_text(timeout.stdout)[-3000:]}", pytrace=False)
            if done.returncode != 0 or not JAR.exists():
                pytest.fail(f"`mvn package` in {JAVA_DIR} failed with exit code {done.returncode}:\n"
                            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}", pytrace=False)
            STAMP.write_text(wanted)
    finally:
        if lock is not None:
            lock.close()
    yield JAR


# ---------------------------------------------------------------------------------------------------------------
# Running it


def run_walkthrough(jar: Path, address: str, token: str = ROOT, prefix: str = "") -> List[Dict[str, Any]]:
    """The program's report, one dict per step; a pytest failure if it did not run to its end."""
    command = ["java", "-jar", str(jar), address, token, prefix, str(CALL_TIMEOUT_MS)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired as timeout:
        pytest.fail(f"{' '.join(command)} did not finish within {RUN_TIMEOUT_S} s; it printed:\n"
                    f"{_text(timeout.stdout)}", pytrace=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited with {done.returncode}:\n{done.stdout}\n{done.stderr[-3000:]}",
                    pytrace=False)
    try:
        report = [json.loads(text) for text in done.stdout.splitlines() if text.strip()]
    except ValueError:
        pytest.fail(f"{' '.join(command)} printed something other than JSON lines:\n{done.stdout}", pytrace=False)
    aborted = [record for record in report if record.get("step") == "abort"]
    if aborted:
        pytest.fail(f"the walk-through against {address} stopped: {aborted[0]['reason']}\n"
                    f"steps before it: {json.dumps(report[:-1], indent=1)}", pytrace=False)
    return report


def _differences(report: List[Dict[str, Any]]) -> List[str]:
    steps = [record["step"] for record in report]
    if steps != [record["step"] for record in EXPECTED]:
        return [f"steps: expected {[r['step'] for r in EXPECTED]}, got {steps}"]
    return [
        f"{want['step']}:\n  expected {json.dumps(want, sort_keys=True)}\n  got      {json.dumps(got, sort_keys=True)}"
        for want, got in zip(EXPECTED, report)
        if got != want
    ]


def test_walk_through_with_the_java_sdk(walkthrough_jar: Path, server_factory: ServerFactory) -> None:  # noqa: F811
    srv = server_factory("--profile", "milvus-2.4", "--password-hash", "fast")
    report = run_walkthrough(walkthrough_jar, f"{srv.host}:{srv.port}")
    mismatches = _differences(report)
    assert not mismatches, (f"{len(mismatches)} step(s) differ from Milvus 2.3.5:\n" + "\n".join(mismatches)
                            + f"\nserver stderr:\n{srv.stderr()[-3000:]}")


def test_expected_answers_are_what_milvus_2_3_5_answers(walkthrough_jar: Path, milvus_2_3_5_address: str) -> None:
    report = run_walkthrough(walkthrough_jar, milvus_2_3_5_address, os.environ.get("MILVUS_TOKEN", ROOT),
                             prefix="zjava_")
    mismatches = _differences(report)
    assert not mismatches, "\n".join(mismatches)
