"""Rich results (milvus_rbac.display): pymilvus's plain shapes for code, HTML tables for notebooks."""

from __future__ import annotations

import copy
import json
import pickle

import pytest

from milvus_rbac import MilvusClient
from milvus_rbac.display import PrivilegeGroups, RoleDescription, UserDescription, client_html
from milvus_rbac.testing import SharedRegistry


@pytest.fixture
def registry():
    with SharedRegistry() as shared:
        root = shared.connect()
        root.create_user("user_1", "P@ssw0rd", description="<script>alert(1)</script>")
        root.create_role("reader", description="reads & writes <b>books</b>")
        root.grant_privilege_v2("reader", "CollectionReadOnly", "books")
        root.grant_role("user_1", "reader")
        root.create_privilege_group("readers")
        root.add_privileges_to_group("readers", ["Query", "Search"])
        yield shared


def results(client):
    return {
        UserDescription: client.describe_user("user_1"),
        RoleDescription: client.describe_role("reader"),
        PrivilegeGroups: client.list_privilege_groups(),
    }


def plain(value):
    """The value as pymilvus builds it: a plain dict or list."""
    return dict(value) if isinstance(value, dict) else [dict(item) for item in value]


def test_results_are_subclasses_equal_to_the_plain_shapes(registry):
    for kind, value in results(registry.connect()).items():
        assert type(value) is kind
        assert value == plain(value) and plain(value) == value
        assert repr(value) == repr(plain(value))
        assert str(value) == str(plain(value))
    user = registry.connect().describe_user("user_1")
    assert user == {"user_name": "user_1", "roles": ("reader",), "description": "<script>alert(1)</script>"}
    assert registry.connect().describe_user("nobody") == {}
    assert type(registry.connect().describe_user("nobody")) is UserDescription


def test_results_serialise_like_the_plain_shapes(registry):
    for value in results(registry.connect()).values():
        assert json.dumps(value) == json.dumps(plain(value))
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            again = pickle.loads(pickle.dumps(value, protocol))
            assert type(again) is type(value) and again == value
        assert copy.deepcopy(value) == value and type(copy.copy(value)) is type(value)


def test_results_stay_mutable_like_plain_dicts_and_lists(registry):
    user = registry.connect().describe_user("user_1")
    user["extra"] = 1
    assert user["extra"] == 1
    groups = registry.connect().list_privilege_groups()
    assert type(groups[:2]) is PrivilegeGroups and groups[:2] == groups[0:2]
    assert groups[0] == {"privilege_group": "readers", "privileges": ("Query", "Search")}


def test_html_escapes_every_text(registry):
    client = registry.connect()
    pages = [value._repr_html_() for value in results(client).values()] + [client._repr_html_()]
    for page in pages:
        assert "<script>" not in page and "<b>" not in page
    user_html, role_html, groups_html, client_page = pages
    assert "<td>user_1</td><td>reader</td><td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in user_html
    assert "<strong>role reader</strong>: reads &amp; writes &lt;b&gt;books&lt;/b&gt;</p>" in role_html
    assert "<td>Global</td><td>books</td><td>default</td><td>CollectionReadOnly</td><td>root</td>" in role_html
    assert "<tr><td>readers</td><td>Query, Search</td></tr>" in groups_html
    assert "&lt;script&gt;" in client_page and "<td>CollectionReadOnly</td>" in client_page


def test_a_user_without_roles_shows_public_only():
    html = UserDescription({"user_name": "user_2", "roles": (), "description": ""})._repr_html_()
    assert "<td>user_2</td><td>(public only)</td>" in html


def test_the_client_overview_lists_users_roles_and_grants_in_every_database(registry):
    root = registry.connect()
    root.grant_privilege("reader", "Collection", "Query", "films", db_name="db1")
    page = root._repr_html_()
    assert page == client_html(root)
    assert page.startswith('<div><p><code>MilvusClient(uri=&quot;')
    assert "<h4>Users</h4>" in page and "<td>root</td><td></td><td></td>" in page
    assert "<h4>Roles and grants</h4>" in page
    assert "<td>Collection</td><td>films</td><td>db1</td><td>Query</td><td>root</td>" in page
    assert page.index("role admin") < page.index("role public") < page.index("role reader")


def test_the_overview_shows_why_a_section_is_missing(registry):
    user_1 = registry.connect(token="user_1:P@ssw0rd")
    page = user_1._repr_html_()
    assert "<h4>Users</h4><p><em>PrivilegeSelectOwnership: permission deny to user_1 in the `default` database</em>" in page
    closed = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    closed.close()
    assert "this MilvusClient is closed" in closed._repr_html_()
