"""Registries kept in etcd (issue 15): `etcd://` URIs, prefixes, settings, credentials kept out of URIs, and
`milvus-rbac copy` between files, etcd and servers. The conformance suite and the model test run on etcd too
(tests/conformance, tests/test_model.py); several servers on one registry are in test_etcd_servers.py."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path
from typing import Any, Dict, List

import pytest
from etcd_cluster import Cluster
from server_fixtures import FAST, ServerFactory, server_factory  # noqa: F401 (a fixture)
from test_tls import certificates  # noqa: F401 (a fixture)

from milvus_rbac import AuthenticationError, MilvusClient, MilvusException

pytest_plugins = ["pytester"]


def test_prefixes_hold_separate_registries(etcd_cluster: Cluster) -> None:
    one = MilvusClient(etcd_cluster.uri(), token="root:Milvus")
    two = MilvusClient(etcd_cluster.uri(), token="root:Milvus")
    one.create_role("only_in_one")
    assert "only_in_one" not in two.list_roles()
    assert repr(one).startswith('MilvusClient(uri="etcd://127.0.0.1:')


def test_the_default_prefix_is_milvus_rbac(etcd_cluster: Cluster) -> None:
    bare = f"etcd://{etcd_cluster.endpoints}"
    explicit = f"etcd://{etcd_cluster.endpoints}/milvus-rbac"
    MilvusClient(bare, token="root:Milvus").create_role("default_prefix")
    assert "default_prefix" in MilvusClient(explicit, token="root:Milvus").list_roles()


def test_settings_are_stored_with_the_registry(etcd_uri: str) -> None:
    MilvusClient(etcd_uri, token="root:Milvus", profile="milvus-2.4", max_roles=3)
    later = MilvusClient(etcd_uri, token="root:Milvus")
    later.create_role("r1")
    with pytest.raises(MilvusException) as refused:
        later.create_role("r2")
    assert "reached the limit" in refused.value.message, refused.value.message
    with pytest.raises(MilvusException, match="profile"):
        MilvusClient(etcd_uri, token="root:Milvus", profile="milvus-2.6")


@pytest.mark.parametrize(
    "uri,words",
    [
        ("etcd://root:secret@127.0.0.1:2379", "credentials do not go in the URI"),
        ("etcd://127.0.0.1", "is not a host:port"),
        ("etcd://127.0.0.1:99999/x", "is not a host:port"),
        ("etcd://", "is not a host:port"),
    ],
)
def test_bad_etcd_uris_are_refused_with_the_reason(uri: str, words: str) -> None:
    with pytest.raises(MilvusException) as refused:
        MilvusClient(uri, token="root:Milvus")
    assert words in refused.value.message
    assert "secret" not in refused.value.message or "credentials" in refused.value.message


def test_an_unreachable_cluster_fails_within_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILVUS_RBAC_ETCD_TIMEOUT", "0.5")
    with pytest.raises(MilvusException) as failure:
        MilvusClient("etcd://127.0.0.1:1/x", token="root:Milvus")
    assert failure.value.message.startswith("etcd at 127.0.0.1:1: no answer within 500ms")


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_a_bad_timeout_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("MILVUS_RBAC_ETCD_TIMEOUT", value)
    with pytest.raises(MilvusException, match="MILVUS_RBAC_ETCD_TIMEOUT"):
        MilvusClient("etcd://127.0.0.1:1/x", token="root:Milvus")


def fill(client: MilvusClient) -> None:
    client.create_user("user_1", "P@ssw0rd")
    client.create_role("reader")
    client.grant_role("user_1", "reader")
    client.grant_privilege("reader", "Collection", "Search", "books")
    client.create_privilege_group("readers")
    client.add_privileges_to_group("readers", ["Query", "Search"])


def copy(source: str, destination: str) -> "subprocess.CompletedProcess[str]":
    env = dict(os.environ, MILVUS_RBAC_TOKEN="root:Milvus")
    return subprocess.run([*FAST, "copy", source, destination], capture_output=True, text=True, env=env, timeout=120)


def test_copy_between_a_file_etcd_and_a_server_keeps_everything(
    tmp_path: Path, etcd_uri: str, server_factory: ServerFactory  # noqa: F811
) -> None:
    source = str(tmp_path / "source.db")
    fill(MilvusClient(source, token="root:Milvus", profile="milvus-2.5"))
    served = server_factory("--profile", "milvus-2.5")
    hops: List[str] = [source, etcd_uri, served.url, str(tmp_path / "back.db")]
    for src, dst in zip(hops, hops[1:]):
        done = copy(src, dst)
        assert done.returncode == 0, done.stderr
        assert "users: 1, roles: 1, grants: 1, privilege groups: 1" in done.stdout
    expected = MilvusClient(source, token="root:Milvus").backup_rbac()
    for hop in hops[1:]:
        assert MilvusClient(hop, token="root:Milvus").backup_rbac() == expected, hop
        # Password hashes travel as they are: user_1 logs in with its password everywhere.
        assert MilvusClient(hop, token="user_1:P@ssw0rd").describe_user("user_1")["roles"] == ("reader",)


def test_copy_into_a_registry_that_conflicts_changes_nothing(tmp_path: Path, etcd_uri: str) -> None:
    source = str(tmp_path / "source.db")
    fill(MilvusClient(source, token="root:Milvus", profile="milvus-2.5"))
    target = MilvusClient(etcd_uri, token="root:Milvus", profile="milvus-2.5")
    target.create_role("reader")
    before = target.backup_rbac()
    done = copy(source, etcd_uri)
    assert done.returncode == 1
    assert "role [reader] already exists" in done.stderr
    assert MilvusClient(etcd_uri, token="root:Milvus").backup_rbac() == before


def test_etcd_password_auth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """etcd's own user/password auth, from the environment: a cluster with auth enabled refuses a client without
    them, and serves one with them."""
    cluster = Cluster(1)
    try:
        member = cluster.members[0].endpoint
        enable_auth(member)
        uri = f"etcd://{member}/authed"
        with pytest.raises(MilvusException) as refused:
            MilvusClient(uri, token="root:Milvus")
        assert "etcd at" in refused.value.message
        monkeypatch.setenv("MILVUS_RBAC_ETCD_USER", "root")
        monkeypatch.setenv("MILVUS_RBAC_ETCD_PASSWORD", "etcd-secret")
        client = MilvusClient(uri, token="root:Milvus")
        client.create_role("behind_auth")
        assert "behind_auth" in client.list_roles()
        monkeypatch.setenv("MILVUS_RBAC_ETCD_PASSWORD", "wrong")
        with pytest.raises(MilvusException) as wrong:
            MilvusClient(uri, token="root:Milvus")
        assert 'logging in as "root"' in wrong.value.message
        # etcd's credentials are not the registry's: a wrong Milvus password is still Milvus's error.
        monkeypatch.setenv("MILVUS_RBAC_ETCD_PASSWORD", "etcd-secret")
        with pytest.raises(AuthenticationError):
            MilvusClient(uri, token="root:wrong-password")
    finally:
        cluster.stop()


def enable_auth(endpoint: str) -> None:
    """Add etcd's root user and turn auth on, through etcd's JSON gateway to its v3 API."""

    def post(path: str, body: Dict[str, Any]) -> None:
        request = urllib.request.Request(f"http://{endpoint}{path}", data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()

    post("/v3/auth/user/add", {"name": "root", "password": "etcd-secret"})
    post("/v3/auth/user/grant", {"user": "root", "role": "root"})
    post("/v3/auth/enable", {})


def test_etcd_over_tls_with_a_client_certificate(
    certificates: Dict[str, Path], monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """A cluster that speaks only TLS and wants a client certificate of its CA: refused without the files, served
    with them (MILVUS_RBAC_ETCD_CA, _CERT, _KEY)."""
    cluster = Cluster(1, tls=certificates)
    try:
        uri = f"etcd://{cluster.members[0].endpoint}/tls"
        monkeypatch.setenv("MILVUS_RBAC_ETCD_TIMEOUT", "2")
        with pytest.raises(MilvusException, match="etcd at"):
            MilvusClient(uri, token="root:Milvus")
        monkeypatch.setenv("MILVUS_RBAC_ETCD_CA", str(certificates["ca.pem"]))
        with pytest.raises(MilvusException, match="etcd at"):
            MilvusClient(uri, token="root:Milvus")  # no client certificate
        monkeypatch.setenv("MILVUS_RBAC_ETCD_CERT", str(certificates["client.pem"]))
        with pytest.raises(MilvusException, match="MILVUS_RBAC_ETCD_KEY"):
            MilvusClient(uri, token="root:Milvus")
        monkeypatch.setenv("MILVUS_RBAC_ETCD_KEY", str(certificates["client.key"]))
        client = MilvusClient(uri, token="root:Milvus")
        client.create_role("over_tls")
        assert "over_tls" in client.list_roles()
    finally:
        cluster.stop()


def test_milvus_registry_lives_in_etcd_when_the_ini_says_so(pytester: pytest.Pytester, etcd_cluster: Cluster) -> None:
    """The plugin's ``milvus_rbac_store`` ini option puts each test's registry under a prefix of its own in
    etcd, removed after the test."""
    base = f"etcd://{etcd_cluster.endpoints}/suite"
    pytester.makeini(f"[pytest]\nmilvus_rbac_store = {base}\n")
    pytester.makepyfile(
        test_user_suite=f"""
        import pytest

        seen = []

        @pytest.mark.milvus_rbac(profile="milvus-2.5")
        def test_on_etcd(milvus_registry, milvus_client):
            assert milvus_registry.uri.startswith("{base}/milvus-rbac-test-")
            milvus_client.create_user("user_1", "P@ssw0rd")
            milvus_registry.connect(token="user_1:P@ssw0rd").describe_user("user_1")
            seen.append(milvus_registry.uri)

        def test_removed_afterwards():
            from milvus_rbac import MilvusClient
            assert MilvusClient(seen[0], token="root:Milvus").list_users() == ["root"]
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=2)


def test_only_etcd_registries_are_removed_by_uri(tmp_path: Path) -> None:
    from milvus_rbac import _core

    with pytest.raises(MilvusException, match="only a registry in etcd"):
        _core.remove_registry(str(tmp_path / "x.db"))
    with pytest.raises(MilvusException, match="is a server"):
        _core.remove_registry("http://127.0.0.1:1")
