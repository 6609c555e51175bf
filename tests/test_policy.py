"""Access control as code (issue 16): policy files loaded with their errors placed, planned, applied, exported
and checked for drift, on every kind of registry and on the real Milvus 2.3.5."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server_fixtures import FAST, ServerFactory, server_factory  # noqa: F401 (a fixture)

from milvus_rbac import MilvusClient, policy

POLICY = """\
profile: milvus-2.6
privilege_groups:
  readers: [Query, Search]
roles:
  reader:
    description: reads books
    grants:
      - {privilege: readers, collection: books}
      - {privilege: Search, collection: "*", database: db1}
      - {object_type: Global, privilege: DescribeCollection}
  writer:
    grants:
      - {object_type: Collection, object: books, privilege: Insert}
users:
  user_1:
    description: the first user
    roles: [reader, writer]
    password_env: POLICY_TEST_PASSWORD
  user_2:
    roles: [reader]
    password_file: user_2.pw
"""


@pytest.fixture
def policy_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("POLICY_TEST_PASSWORD", "P@ssw0rd1")
    (tmp_path / "user_2.pw").write_text("P@ssw0rd2\n")
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return path


def registry(kind: str, tmp_path: Path, request: pytest.FixtureRequest, profile: str = "milvus-2.6") -> MilvusClient:
    """A fresh registry of `kind`, as root."""
    if kind == "memory":
        uri = ":memory:"
    elif kind == "file":
        uri = str(tmp_path / "registry.db")
    elif kind == "etcd":
        uri = request.getfixturevalue("etcd_uri")
    else:
        factory: ServerFactory = request.getfixturevalue("server_factory")
        uri = factory("--profile", profile).url
    options: Dict[str, Any] = {} if kind == "server" else {"profile": profile, "password_hash": "fast"}
    return MilvusClient(uri, token="root:Milvus", **options)


@pytest.mark.parametrize("kind", ["memory", "file", "etcd", "server"])
def test_apply_then_plan_is_empty_and_export_round_trips(
    kind: str, policy_file: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    client = registry(kind, tmp_path, request)
    rules = policy.load(str(policy_file))
    first = policy.plan(client, rules)
    assert [step.method for step in first.steps][:3] == ["create_privilege_group", "add_privileges_to_group",
                                                        "create_role"]
    policy.apply(client, first)
    assert policy.plan(client, rules).steps == []
    assert policy.plan(client, rules, prune=True).steps == []
    assert client.describe_user("user_1")["roles"] == ("reader", "writer")
    assert client.describe_user("user_1")["description"] == "the first user"
    # Passwords came from the environment and the file.
    if kind != "memory":
        MilvusClient(client_uri(client), token="user_2:P@ssw0rd2").describe_user("user_2")
    exported = policy.loads(policy.export(client, profile="milvus-2.6"))
    assert policy.plan(client, exported, prune=True).steps == []


def client_uri(client: MilvusClient) -> str:
    return repr(client).split('uri="', 1)[1].split('"', 1)[0]


def test_nothing_unmentioned_is_removed_without_prune_and_built_ins_never(policy_file: Path) -> None:
    client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast", profile="milvus-2.6")
    client.create_role("by_hand")
    client.create_user("someone", "P@ssw0rd9")
    client.grant_role("someone", "by_hand")
    client.grant_role("root", "by_hand")
    client.grant_privilege("public", "Global", "CreateCollection", "*")
    rules = policy.load(str(policy_file))
    policy.apply(client, policy.plan(client, rules))
    assert "by_hand" in client.list_roles() and "someone" in client.list_users()
    client.create_privilege_group("by_hand_group")
    client.add_privileges_to_group("readers", ["Load"])
    pruned = policy.plan(client, rules, prune=True)
    assert [str(step) for step in pruned.steps] == [
        "- remove Load from group readers",
        "- revoke_role by_hand from someone",
        "- revoke_role by_hand from root",
        "- drop_user someone",
        "- drop_role by_hand",
        "- drop_privilege_group by_hand_group",
    ]
    policy.apply(client, pruned)
    assert client.list_roles() == ["admin", "public", "reader", "writer"]
    assert client.list_users() == ["root", "user_1", "user_2"]
    # public's grant is not in the policy, and public is never pruned.
    assert any(g["privilege"] == "CreateCollection" for g in client.describe_role("public")["privileges"])


def test_a_second_apply_changes_nothing_and_a_failure_says_what_ran(policy_file: Path) -> None:
    client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast", profile="milvus-2.6", max_roles=3)
    rules = policy.load(str(policy_file))
    with pytest.raises(policy.ApplyError) as failed:
        policy.apply(client, policy.plan(client, rules))
    assert failed.value.failed.text == "create_role writer"
    assert [step.method for step in failed.value.done][:4] == [
        "create_privilege_group", "add_privileges_to_group", "create_role", "alter_role"]
    assert len(failed.value.done) == 7 and "writer" not in client.list_roles()
    assert "reached the limit" in failed.value.message and "done: + create_privilege_group readers" in failed.value.message
    assert failed.value.code == failed.value.__cause__.code != 1  # the failed call's own code


@pytest.mark.parametrize(
    "text,error",
    [
        ("roles:\n  r:\n    grants:\n      - {privilege: Serch, collection: books}\n",
         "<policy>:4:9: a grant to role r:"),
        ("privilege_groups:\n  g: [Query, CreateCollection]\n", "<policy>:2:14: privilege group g: failed to check if privilege group alterable"),
        ("users:\n  u:\n    roles: [ghost]\n", "<policy>:3:13: user u is granted role ghost, which the policy does not declare"),
        ("role:\n  r: {}\n", "<policy>:1:1: unknown key 'role' in a policy"),
        ("roles:\n  r:\n    grants:\n      - {collection: books}\n", "<policy>:4:9: a grant needs a privilege"),
        ("roles: [r\n", "<policy>:2:1: not YAML"),
        ("users:\n  u: {password_env: A, password_file: b}\n", "<policy>:2:6: user u takes password_env or password_file"),
        ("roles: " + "[" * 100_000 + "]" * 100_000, "<policy>: nested too deeply to be a policy"),
        ("profile: milvus-2.4\nprivilege_groups:\n  g: [Query]\n", "<policy>:3:6: privilege group g: create_privilege_group is not available in profile milvus-2.4"),
    ],
)
def test_errors_name_the_place_and_the_rule(text: str, error: str) -> None:
    with pytest.raises(policy.PolicyError) as refused:
        policy.loads(text)
    assert str(refused.value).startswith(error), str(refused.value)


def test_a_missing_user_without_a_password_is_a_plan_error() -> None:
    client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    with pytest.raises(policy.PolicyError, match="user ghost does not exist, and the policy gives no password"):
        policy.plan(client, policy.loads("users:\n  ghost: {}\n"))


def test_the_cli_plans_applies_and_reports_drift(policy_file: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "cli.db")
    env = dict(os.environ, MILVUS_RBAC_TOKEN="root:Milvus")

    def cli(*args: str) -> "subprocess.CompletedProcess[str]":
        return subprocess.run([*FAST, "--db", db, "--profile", "milvus-2.6", "policy", *args],
                              capture_output=True, text=True, env=env, timeout=60)

    assert cli("drift", str(policy_file)).returncode == 1
    applied = cli("apply", str(policy_file))
    assert applied.returncode == 0, applied.stderr
    assert "applied 14 changes" in applied.stdout
    assert cli("drift", str(policy_file)).returncode == 0
    MilvusClient(db, token="root:Milvus").revoke_role("user_2", "reader")
    drift = cli("drift", str(policy_file))
    assert drift.returncode == 1 and drift.stdout.splitlines()[1:] == ["+ grant_role reader to user_2"]
    plan = cli("plan", str(policy_file))
    assert (plan.returncode, plan.stdout) == (0, "+ grant_role reader to user_2\n")
    plan = cli("plan", "--json", str(policy_file))
    assert [step["change"] for step in json.loads(plan.stdout)] == ["grant_role reader to user_2"]
    # What the policy does not mention goes only with --prune.
    MilvusClient(db, token="root:Milvus").create_role("unmentioned")
    assert "unmentioned" not in cli("plan", str(policy_file)).stdout
    assert "- drop_role unmentioned" in cli("plan", "--prune", str(policy_file)).stdout.splitlines()
    MilvusClient(db, token="root:Milvus").drop_role("unmentioned")
    exported = tmp_path / "exported.yaml"
    assert cli("export", str(exported)).returncode == 0
    assert oct(exported.stat().st_mode & 0o777) == "0o600"
    assert exported.read_text().splitlines()[0] == "profile: milvus-2.6"  # the registry's, as --profile names it
    assert cli("export", str(exported)).returncode == 2, "an existing file is kept without --force"
    MilvusClient(db, token="root:Milvus").create_role("later")
    assert cli("export", str(exported), "--force").returncode == 0
    assert "  later: {}" in exported.read_text().splitlines()
    assert cli("drift", "--prune", str(exported)).returncode == 0


# A random registry: groups, roles with grants in both forms, users with roles.
PRIVILEGES = ["Search", "Query", "Insert", "Delete", "Load"]
NAMES = st.sampled_from(["a", "b", "c"])


@st.composite
def registries(draw: Callable[..., Any]) -> Dict[str, Any]:
    groups = {f"g_{name}": draw(st.sets(st.sampled_from(PRIVILEGES), min_size=1))
              for name in draw(st.sets(NAMES))}
    roles = {}
    for name in draw(st.sets(NAMES)):
        grants = draw(st.sets(st.tuples(st.sampled_from(PRIVILEGES + sorted(groups)),
                                        st.sampled_from(["books", "*"]), st.sampled_from(["default", "db1"]))))
        roles[f"r_{name}"] = sorted(grants)
    users = {f"u_{name}": sorted(draw(st.sets(st.sampled_from(sorted(roles))))) if roles else []
             for name in draw(st.sets(NAMES))}
    return {"groups": groups, "roles": roles, "users": users}


def build(spec: Dict[str, Any]) -> MilvusClient:
    client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast", profile="milvus-2.6")
    for name, privileges in spec["groups"].items():
        client.create_privilege_group(name)
        client.add_privileges_to_group(name, sorted(privileges))
    for name, grants in spec["roles"].items():
        client.create_role(name)
        for privilege, collection, db in grants:
            client.grant_privilege_v2(name, privilege, collection, db)
    for name, roles in spec["users"].items():
        client.create_user(name, "P@ssw0rd1")
        for role in roles:
            client.grant_role(name, role)
    return client


def state(client: MilvusClient) -> Any:
    backup = client.backup_rbac()
    users = {u["user_name"]: sorted(u.get("roles", [])) for u in backup["users"]}
    grants = sorted((g["role_name"], g["object_type"], g["object_name"], g["db_name"], g["privilege"])
                    for g in backup["grants"])
    groups = {g["privilege_group"]: sorted(g["privileges"]) for g in backup["privilege_groups"]}
    return users, sorted(r["role_name"] for r in backup["roles"]), grants, groups


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=registries(), b=registries())
def test_applying_an_export_of_b_onto_a_gives_b(a: Dict[str, Any], b: Dict[str, Any]) -> None:
    target, source = build(a), build(b)
    exported = policy.loads(policy.export(source, profile="milvus-2.6"))
    # Users of B that A lacks are created: the export has no passwords, so give them one.
    for name, spec in exported.users.items():
        spec.password_env = "POLICY_HYPOTHESIS_PASSWORD"
    os.environ["POLICY_HYPOTHESIS_PASSWORD"] = "P@ssw0rd1"
    policy.apply(target, policy.plan(target, exported, prune=True))
    assert state(target) == state(source)
    assert policy.plan(target, exported, prune=True).steps == []


def test_a_plan_shows_in_a_notebook() -> None:
    client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    shown = policy.plan(client, policy.loads("roles:\n  r: {}\n"))._repr_html_()
    assert "+ create_role r" in shown and "#1a7f37" in shown


# --- the real Milvus 2.3.5 ------------------------------------------------------------------------------------

REAL_POLICY = """\
profile: milvus-2.4
roles:
  cfpolicy_reader:
    grants:
      - {object_type: Collection, object: books, privilege: Search}
      - {object_type: Global, privilege: DescribeCollection}
users:
  cfpolicy_user:
    roles: [cfpolicy_reader]
    password_env: POLICY_TEST_PASSWORD
"""


@pytest.fixture
def real_milvus(milvus_uri: str, quiet_pymilvus: None) -> Iterator[MilvusClient]:
    client = MilvusClient(milvus_uri, token="root:Milvus")
    yield client
    for user in ("cfpolicy_user",):
        if user in client.list_users():
            for role in client.describe_user(user)["roles"]:
                client.revoke_role(user, role)
            client.drop_user(user)
    if "cfpolicy_reader" in client.list_roles():
        for grant in client.describe_role("cfpolicy_reader")["privileges"]:
            client.revoke_privilege("cfpolicy_reader", grant["object_type"], grant["privilege"],
                                    grant["object_name"], db_name=grant["db_name"])
        client.drop_role("cfpolicy_reader")


def test_on_the_real_milvus_apply_plan_drift_and_restore(
    real_milvus: MilvusClient, milvus_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pymilvus = pytest.importorskip("pymilvus")
    monkeypatch.setenv("POLICY_TEST_PASSWORD", "P@ssw0rd1")
    rules = policy.loads(REAL_POLICY)
    policy.apply(real_milvus, policy.plan(real_milvus, rules))
    assert policy.plan(real_milvus, rules).steps == []
    by_hand = pymilvus.MilvusClient(uri=milvus_uri, token="root:Milvus")
    by_hand.revoke_privilege("cfpolicy_reader", "Collection", "Search", "books")
    drift: List[str] = [str(step) for step in policy.plan(real_milvus, rules).steps]
    assert drift == ["+ grant Search on Collection books in default to cfpolicy_reader"]
    policy.apply(real_milvus, policy.plan(real_milvus, rules))
    assert policy.plan(real_milvus, rules).steps == []
    # The export of the live cluster plans no change against it either.
    exported = policy.loads(policy.export(real_milvus, profile="milvus-2.4"))
    assert policy.plan(real_milvus, exported).steps == []
    # check/explain against the real server: its roles and grants, our rules.
    allowed = policy.explain_live(real_milvus, "cfpolicy_user", "Search", "Collection", "books")
    assert (allowed["allowed"], allowed["role"]) == (True, "cfpolicy_reader")
    assert not policy.explain_live(real_milvus, "cfpolicy_user", "Insert", "Collection", "books")["allowed"]
    env = dict(os.environ, MILVUS_RBAC_TOKEN="root:Milvus")
    checked = subprocess.run([*FAST, "--uri", milvus_uri, "--json", "check", "cfpolicy_user", "Search",
                              "--object-type", "Collection", "--object", "books"],
                             capture_output=True, text=True, env=env, timeout=120)
    assert checked.returncode == 0, checked.stderr
    assert '"allowed": true' in checked.stdout


def test_the_schema_is_published_with_the_package() -> None:
    schema = policy.schema()
    assert schema["title"] == "milvus-rbac policy"
    assert set(schema["properties"]) == {"profile", "privilege_groups", "roles", "users"}
    assert set(schema["properties"]["profile"]["enum"]) == set(__import__("milvus_rbac")._core.PROFILES)


EXPECTING = POLICY + """\
expectations:
  - {user: user_1, may: Search, collection: books}
  - {user: user_1, may: Insert, collection: books}
  - {user: user_2, may_not: Insert, collection: books}
  - {role: reader, may_not: DropCollection, collection: books}
  - {role: writer, may: Search, collection: books}
  - {user: user_2, may: Search, collection: films, database: db1}
"""


def test_expectations_are_checked_without_a_server(tmp_path: Path) -> None:
    path = tmp_path / "expecting.yaml"
    path.write_text(EXPECTING)
    failures = policy.test(policy.load(str(path)))
    assert [str(expectation) for expectation, _ in failures] == [
        "a holder of role writer may Search on Collection books in default"]
    assert failures[0][0].where.line == 27
    with pytest.raises(AssertionError, match=r"expecting.yaml:27:5: expected: a holder of role writer may Search"):
        policy.assert_expectations(str(path))
    done = subprocess.run([*FAST, "policy", "test", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stdout.splitlines()[0].startswith(
        f"{path}:27:5: expected: a holder of role writer may Search on Collection books in default; but denied")
    assert done.stdout.splitlines()[-1] == "5 of 6 expectations hold"
    path.write_text(EXPECTING.replace("  - {role: writer, may: Search, collection: books}\n", ""))
    policy.assert_expectations(str(path))
    done = subprocess.run([*FAST, "policy", "test", str(path)], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, "5 of 5 expectations hold\n")


@pytest.mark.parametrize(
    "entry,error",
    [
        ("{user: ghost, may: Search}", "an expectation of user ghost, which the policy does not declare"),
        ("{role: r, may: Search, may_not: Query}", "an expectation says may or may_not"),
        ("{may: Search}", "an expectation names a user or a role"),
        ("{role: r, may: Search, collection: b, object: c}", "an expectation takes collection, or object_type"),
    ],
)
def test_bad_expectations_are_placed(entry: str, error: str) -> None:
    with pytest.raises(policy.PolicyError, match=f"^<policy>:4:5: {error}"):
        policy.loads(f"roles:\n  r: {{}}\nexpectations:\n  - {entry}\n")


def test_check_against_a_server_that_cannot_explain_uses_its_live_grants(
    server_factory: ServerFactory,  # noqa: F811
) -> None:
    """Over gRPC there is no ExplainPrivilege (a real Milvus has none): the CLI's check reads the server's roles and
    grants and decides with our rules."""
    served = server_factory("--profile", "milvus-2.5")
    client = MilvusClient(served.url, token="root:Milvus")
    client.create_user("u", "P@ssw0rd1")
    client.create_role("r")
    client.grant_role("u", "r")
    client.grant_privilege("r", "Collection", "Search", "books")
    decided = policy.explain_live(client, "u", "Search", "Collection", "books", profile="milvus-2.5")
    assert (decided["allowed"], decided["reason"], decided["role"]) == (True, "grant", "r")
    env = dict(os.environ, MILVUS_RBAC_TOKEN="root:Milvus")
    denied = subprocess.run([*FAST, "--uri", served.url, "check", "u", "Insert", "--object-type", "Collection",
                             "--object", "books"], capture_output=True, text=True, env=env, timeout=60)
    assert (denied.returncode, denied.stdout) == (0, "denied: no role of u grants Insert on Collection books in "
                                                     "database default\n")
    # Its rules are those of the line --profile names: privilege groups from 2.5 on.
    client.create_privilege_group("writers")
    client.add_privileges_to_group("writers", ["Insert"])
    client.grant_privilege_v2("r", "writers", "books")
    allowed = subprocess.run([*FAST, "--uri", served.url, "--profile", "milvus-2.5", "check", "u", "Insert",
                              "--object-type", "Collection", "--object", "books"], capture_output=True, text=True,
                             env=env, timeout=60)
    assert (allowed.returncode, allowed.stdout.split(":")[0]) == (0, "allowed"), allowed.stderr


def test_plans_show_in_notebooks_and_their_parts_are_values() -> None:
    import dataclasses

    assert policy.Plan([])._repr_html_() == "<p>No changes.</p>"
    step = policy.Step("create_user", {"user_name": "u", "password": "P@ssw0rd"}, "create_user u <a>", "+")
    shown = policy.Plan([step])._repr_html_()
    assert shown.startswith("<div><div style=\"color:#1a7f37") and "create_user u &lt;a&gt;" in shown
    assert step.to_json() == {"method": "create_user", "args": {"user_name": "u", "password": "***"},
                              "change": "create_user u <a>"}
    expectation = policy.loads("roles:\n  r: {}\nexpectations:\n  - {role: r, may: Search}\n").expectations[0]
    for frozen in (step, policy.Where("<policy>", 1, 1), expectation):
        with pytest.raises(dataclasses.FrozenInstanceError):
            frozen.sign = "-"  # type: ignore[misc]


# --- each rule of planning, reading and exporting, on its own ------------------------------------------------


def fresh(profile: str = "milvus-2.6", **options: Any) -> MilvusClient:
    return MilvusClient(":memory:", token="root:Milvus", password_hash="fast", profile=profile, **options)


def test_an_export_holds_the_built_in_roles_and_publics_grants() -> None:
    """Milvus's backup leaves out root, admin and public; the export reads them from the describe calls."""
    client = fresh()
    client.grant_privilege_v2("public", "CollectionReadOnly", "books")
    document = __import__("yaml").safe_load(policy.export(client))
    assert list(document["roles"]) == ["admin", "public"]
    public = document["roles"]["public"]["grants"]
    assert {"object_type": "Global", "object": "*", "database": "*", "privilege": "DescribeCollection"} in public
    # A built-in privilege group is exported in grant_privilege_v2's form, the only one that takes groups.
    assert {"privilege": "CollectionReadOnly", "collection": "books", "database": "default"} in public
    assert list(document["users"]) == ["root"]


def test_an_export_keeps_unicode_as_written() -> None:
    client = fresh()
    client.create_role("r")
    client.alter_role("r", description="lit les livres, café compris")
    assert "description: lit les livres, café compris\n" in policy.export(client)


class WithoutBackup:
    """A client of a server older than Milvus 2.4 (the real 2.3.5 of test_on_the_real_milvus_... answers so), whose
    registry has no backup_rbac: everything else is the wrapped registry's."""

    def __init__(self, client: MilvusClient) -> None:
        self.client = client

    def backup_rbac(self) -> Any:
        from milvus_rbac.exceptions import MilvusException

        raise MilvusException(code=1, message="unknown method BackupRBAC")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def test_a_server_without_backup_is_read_through_its_describe_calls() -> None:
    client = fresh()
    client.create_role("r")
    client.grant_privilege("r", "Collection", "Insert", "books")
    client.create_user("u", "P@ssw0rd1", description="someone")
    client.grant_role("u", "r")
    exported = policy.export(WithoutBackup(client))  # type: ignore[arg-type]
    document = __import__("yaml").safe_load(exported)
    assert document["roles"]["r"] == {
        "grants": [{"object_type": "Collection", "object": "books", "database": "default", "privilege": "Insert"}]}
    assert document["users"]["u"] == {"description": "someone", "roles": ["r"]}
    assert policy.plan(WithoutBackup(client), policy.loads(exported)).steps == []  # type: ignore[arg-type]


def test_prune_revokes_what_declared_and_undeclared_roles_hold_beyond_the_policy() -> None:
    client = fresh()
    for role in ("kept", "extra"):
        client.create_role(role)
        client.grant_privilege("kept" if role == "kept" else "extra", "Collection", "Insert", "books")
    client.grant_privilege("kept", "Collection", "Delete", "books")
    client.create_user("u", "P@ssw0rd1", description="before")
    client.grant_role("u", "kept")
    client.grant_role("u", "extra")
    rules = policy.loads("""\
roles:
  kept:
    grants: [{object_type: Collection, object: books, privilege: Insert}]
users:
  u: {description: after, roles: [kept]}
""")
    assert [str(step) for step in policy.plan(client, rules).steps] == ["~ describe user u as 'after'"]
    pruned = policy.plan(client, rules, prune=True)
    assert [str(step) for step in pruned.steps] == [
        "~ describe user u as 'after'",
        "- revoke Delete on Collection books in default from kept",
        "- revoke_role extra from u",
        "- revoke Insert on Collection books in default from extra",
        "- drop_role extra",
    ]
    assert [step.method for step in pruned.steps] == [
        "update_user", "revoke_privilege", "revoke_role", "revoke_privilege", "drop_role"]
    policy.apply(client, pruned)
    assert client.describe_user("u") == {"user_name": "u", "roles": ("kept",), "description": "after"}
    assert policy.plan(client, rules, prune=True).steps == []


def test_the_profiles_rules_check_a_policy() -> None:
    # Milvus 2.5 has no role descriptions: the file is refused where the description is written.
    with pytest.raises(policy.PolicyError, match=r"^<policy>:3:6: role r's description: alter_role is not"):
        policy.loads("profile: milvus-2.5\nroles:\n  r: {description: reads}\n")
    with pytest.raises(policy.PolicyError, match=r"^<policy>:3:6: user u's description: profile milvus-2.5 has no"):
        policy.loads("profile: milvus-2.5\nusers:\n  u: {description: someone}\n")
    # The scratch registry that checks a policy has no limits: more roles than Milvus's default of 10.
    many = policy.loads("roles:\n" + "".join(f"  r{index}: {{}}\n" for index in range(12)))
    assert len(many.roles) == 12


@pytest.mark.parametrize("value", ["true", "1.5", "null", "[a]", "{a: b}"])
def test_only_text_and_numbers_are_text(value: str) -> None:
    with pytest.raises(policy.PolicyError, match=r"^<policy>:3:18: a description must be text"):
        policy.loads(f"roles:\n  r:\n    description: {value}\n")


@pytest.mark.parametrize(
    "entry",
    ["{user: root, may: Search}", "{role: admin, may: Search}", "{role: public, may: DescribeCollection}",
     "{role: r, may: Search, object_type: Collection, object: b}", "{role: r, may: Search, collection: b}"],
)
def test_good_expectations_are_read(entry: str) -> None:
    [expectation] = policy.loads(f"roles:\n  r: {{}}\nexpectations:\n  - {entry}\n").expectations
    assert expectation.where == policy.Where("<policy>", 4, 5)


@pytest.mark.parametrize(
    "entry,error",
    [
        ("{role: ghost, may: Search}", "an expectation of role ghost, which the policy does not declare"),
        ("{role: r, may: Search, collection: b, object_type: Collection}",
         "an expectation takes collection, or object_type"),
    ],
)
def test_more_bad_expectations_are_placed(entry: str, error: str) -> None:
    with pytest.raises(policy.PolicyError, match=f"^<policy>:4:5: {error}"):
        policy.loads(f"roles:\n  r: {{}}\nexpectations:\n  - {entry}\n")


def test_a_roles_expectation_is_checked_on_a_holder_of_that_role() -> None:
    rules = policy.loads("""\
roles:
  reader:
    grants: [{privilege: Search, collection: books}]
expectations:
  - {role: reader, may: Search, collection: books}
  - {role: public, may_not: Search, collection: books}
  - {role: public, may: DescribeCollection, object_type: Global}
  - {user: root, may: DropCollection, collection: books}
""")
    assert policy.test(rules) == []
    [(expectation, explanation)] = policy.test(policy.loads("expectations:\n  - {role: public, may: Insert}\n"))
    assert policy.describe_failure(expectation, explanation) == (
        "<policy>:2:5: expected: a holder of role public may Insert on Global * in default; but denied "
        f"(reason={explanation['reason']!r})")


def test_expectations_are_checked_beyond_milvuss_default_limits() -> None:
    """The registry built to check expectations holds as many users and roles as the policy declares."""
    rules = policy.loads(
        "roles:\n" + "".join(f"  r{index}: {{grants: [{{privilege: Search, collection: books}}]}}\n"
                             for index in range(12))
        + "users:\n" + "".join(f"  u{index}: {{roles: [r{index % 12}]}}\n" for index in range(101))
        + "expectations:\n  - {user: u100, may: Search, collection: books}\n"
    )
    assert policy.test(rules) == []


def test_a_password_file_is_named_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    rules = policy.loads("users:\n  u: {password_file: missing.pw}\n")
    with pytest.raises(policy.PolicyError, match=r"^<policy>:2:6: user u's password file missing.pw: No such file"):
        policy.plan(fresh(), rules)
    (tmp_path / "absolute.pw").write_text("P@ssw0rd1\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "policy.yaml").write_text(f"users:\n  u: {{password_file: {tmp_path / 'absolute.pw'}}}\n")
    [step] = policy.plan(fresh(), policy.load(str(elsewhere / "policy.yaml"))).steps
    assert step.args["password"] == "P@ssw0rd1"


def test_files_are_read_as_utf8_whatever_the_locale(tmp_path: Path) -> None:
    """A policy, a password file and the schema, read in a process whose locale encoding is ASCII."""
    (tmp_path / "u.pw").write_text("Pässwörd-1\n", encoding="utf-8")
    (tmp_path / "policy.yaml").write_text("users:\n  u: {description: café, password_file: u.pw}\n",
                                          encoding="utf-8")
    script = (
        "import json, sys; from milvus_rbac import MilvusClient, policy\n"
        "rules = policy.load(sys.argv[1])\n"
        "client = MilvusClient(':memory:', token='root:Milvus', password_hash='fast')\n"
        "[step] = policy.plan(client, rules).steps\n"
        "print(json.dumps([__import__('locale').getpreferredencoding(False), step.args, policy.schema()['title']]))\n"
    )
    env = dict(os.environ, LC_ALL="C", LANG="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0")
    done = subprocess.run([os.sys.executable, "-c", script, str(tmp_path / "policy.yaml")], capture_output=True,
                          text=True, encoding="utf-8", env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    encoding, args, title = json.loads(done.stdout)
    assert encoding.lower() in ("ascii", "ansi_x3.4-1968")
    assert args == {"user_name": "u", "password": "Pässwörd-1", "description": "café"}
    assert title == "milvus-rbac policy"
    # And the command writes its exports as UTF-8 there too.
    db = str(tmp_path / "rbac.db")
    with MilvusClient(db, token="root:Milvus", password_hash="fast", profile="milvus-2.6") as client:
        client.create_role("r")
        client.alter_role("r", description="lit les livres, café compris")
    done = subprocess.run([*FAST, "--db", db, "policy", "export", str(tmp_path / "out.yaml")], capture_output=True,
                          text=True, encoding="utf-8", env=dict(env, MILVUS_RBAC_TOKEN="root:Milvus"), timeout=60)
    assert done.returncode == 0, done.stderr
    assert "café compris" in (tmp_path / "out.yaml").read_text(encoding="utf-8")


def test_expectations_and_explanations_are_decided_by_the_policys_profile() -> None:
    """Milvus 3.0 checks cluster-level privileges in `*`: a grant of CreateDatabase in `default` does not meet it
    there, though it does in 2.6. The scratch registries of `test` and `explain_live` must be of that profile."""
    text = ("profile: {profile}\nroles:\n  ops:\n    grants:\n"
            "      - {{object_type: Global, privilege: CreateDatabase, database: default}}\n"
            "expectations:\n  - {{role: ops, may_not: CreateDatabase, object_type: Global}}\n")
    assert policy.test(policy.loads(text.format(profile="milvus-3.0"))) == []
    [(expectation, explanation)] = policy.test(policy.loads(text.format(profile="milvus-2.6")))
    assert (expectation.privilege, explanation["allowed"], explanation["reason"]) == ("CreateDatabase", True, "grant")
    client = fresh("milvus-3.0")
    client.create_role("ops")
    client.grant_privilege("ops", "Global", "CreateDatabase", "*", db_name="default")
    client.create_user("u", "P@ssw0rd1")
    client.grant_role("u", "ops")
    for profile, allowed in (("milvus-3.0", False), ("milvus-2.6", True)):
        decided = policy.explain_live(client, "u", "CreateDatabase", "Global", "*", profile=profile)
        assert decided["allowed"] is allowed, profile


def test_explain_live_reads_the_registry_in_its_profile() -> None:
    client = fresh("milvus-2.5", max_roles=None, max_users=None)
    client.create_privilege_group("writers")
    client.add_privileges_to_group("writers", ["Insert"])
    for index in range(12):  # more than Milvus's default limits of roles and users
        client.create_role(f"r{index}")
    for index in range(101):
        client.create_user(f"u{index}", "P@ssw0rd1")
    client.grant_privilege_v2("r11", "writers", "books")
    client.create_user("u", "P@ssw0rd1")
    client.grant_role("u", "r11")
    decided = policy.explain_live(client, "u", "Insert", "Collection", "books", profile="milvus-2.5")
    assert (decided["allowed"], decided["role"], decided["group"]) == (True, "r11", "writers")
    # Read in a profile without privilege groups, the live state cannot be a policy: the error names it.
    with pytest.raises(policy.PolicyError, match=r"^the live state of .*: privilege group writers: "
                                                 r"create_privilege_group is not available in profile milvus-2.4"):
        policy.explain_live(client, "u", "Insert", "Collection", "books", profile="milvus-2.4")
