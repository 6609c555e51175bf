"""describe_role against what a real Milvus 2.3.5 server returned (profile milvus-2.4).

RECORDED holds pymilvus 3.0.2's answers from the real 2.3.5 server (authorization on) after `build` ran on it. It was
recorded once by running this file as a script with that server's pymilvus (the same `build`, then `views`):

    /work/milvus-env/bin/python tests/test_describe_role.py http://127.0.0.1:19530

which prints the answers (and drops what it created). `describe_role(r)`, `describe_role(r, db_name="")` and
`describe_role(r, db_name="default")` returned the same value, recorded once as "plain". Nothing is ignored: shape,
key order, sort order, and the `description` key that pymilvus 3.0 adds are all compared.

References are to /work/shared/milvus-facts.md ("P1 §x" = Part 1 section, "P2" = Part 2, the real 2.3.5 server).
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable

import pytest

ROLE = "t3_reader"
GRANTING_ROLE = "t3_granting"
GRANTER = "t3_granter"
GRANTER_TOKEN = "t3_granter:abcdef"
OTHER_DB = "t3_db"


def build(client: Any, connect: Callable[[str], Any], settle: Callable[[], None] = lambda: None) -> None:
    """Grants on several objects, databases (default, `*`, another) and object types; two by a non-root grantor."""
    client.create_role(ROLE)
    client.create_role(GRANTING_ROLE)
    client.create_user(GRANTER, "abcdef")
    client.grant_privilege(GRANTING_ROLE, "Global", "ManageOwnership", "*")
    client.grant_role(GRANTER, GRANTING_ROLE)
    grant = client.grant_privilege
    grant(ROLE, "Collection", "Search", "books")
    grant(ROLE, "Collection", "Query", "books", db_name="default")
    grant(ROLE, "Collection", "Insert", "*")
    grant(ROLE, "Collection", "*", "authors")
    grant(ROLE, "Collection", "IndexDetail", "books", db_name="*")
    grant(ROLE, "Collection", "Delete", "books", db_name=OTHER_DB)
    grant(ROLE, "Global", "CreateCollection", "ignored_name")
    grant(ROLE, "Global", "ShowCollections", "*", db_name="*")
    grant(ROLE, "Global", "DescribeCollection", "*", db_name=OTHER_DB)
    grant(ROLE, "User", "SelectUser", GRANTER)
    grant(ROLE, "User", "UpdateUser", "*", db_name=OTHER_DB)
    settle()  # a real server refreshes its privilege cache asynchronously
    granter = connect(GRANTER_TOKEN)
    granter.grant_privilege(ROLE, "Collection", "Release", "books")
    granter.grant_privilege(ROLE, "Global", "DropCollection", "*", db_name="*")


def views(client: Any) -> dict[str, Any]:
    return {
        "plain": client.describe_role(ROLE),
        "db_empty": client.describe_role(ROLE, db_name=""),
        "db_default": client.describe_role(ROLE, db_name="default"),
        "db_other": client.describe_role(ROLE, db_name=OTHER_DB),
        "db_star": client.describe_role(ROLE, db_name="*"),
        "granting": client.describe_role(GRANTING_ROLE),
    }


# Recorded on 2026-11-28 from Milvus 2.3.5 (pymilvus 3.0.2 MilvusClient), see the module docstring.
RECORDED: dict[str, Any] = {
    "plain": {
        "role": "t3_reader",
        "description": "",
        "privileges": [
            {"object_type": "Collection", "object_name": "books", "db_name": "*", "role_name": "t3_reader", "privilege": "IndexDetail", "grantor_name": "root"},
            {"object_type": "Collection", "object_name": "*", "db_name": "default", "role_name": "t3_reader", "privilege": "Insert", "grantor_name": "root"},
            {"object_type": "Collection", "object_name": "authors", "db_name": "default", "role_name": "t3_reader", "privilege": "*", "grantor_name": "root"},
            {"object_type": "Collection", "object_name": "books", "db_name": "default", "role_name": "t3_reader", "privilege": "Query", "grantor_name": "root"},
            {"object_type": "Collection", "object_name": "books", "db_name": "default", "role_name": "t3_reader", "privilege": "Release", "grantor_name": "t3_granter"},
            {"object_type": "Collection", "object_name": "books", "db_name": "default", "role_name": "t3_reader", "privilege": "Search", "grantor_name": "root"},
            {"object_type": "Global", "object_name": "*", "db_name": "*", "role_name": "t3_reader", "privilege": "DropCollection", "grantor_name": "t3_granter"},
            {"object_type": "Global", "object_name": "*", "db_name": "*", "role_name": "t3_reader", "privilege": "ShowCollections", "grantor_name": "root"},
            {"object_type": "Global", "object_name": "*", "db_name": "default", "role_name": "t3_reader", "privilege": "CreateCollection", "grantor_name": "root"},
            {"object_type": "User", "object_name": "t3_granter", "db_name": "default", "role_name": "t3_reader", "privilege": "SelectUser", "grantor_name": "root"},
        ],
    },
    "db_other": {
        "role": "t3_reader",
        "description": "",
        "privileges": [
            {"object_type": "Collection", "object_name": "books", "db_name": "*", "role_name": "t3_reader", "privilege": "IndexDetail", "grantor_name": "root"},
            {"object_type": "Collection", "object_name": "books", "db_name": "t3_db", "role_name": "t3_reader", "privilege": "Delete", "grantor_name": "root"},
            {"object_type": "Global", "object_name": "*", "db_name": "*", "role_name": "t3_reader", "privilege": "DropCollection", "grantor_name": "t3_granter"},
            {"object_type": "Global", "object_name": "*", "db_name": "*", "role_name": "t3_reader", "privilege": "ShowCollections", "grantor_name": "root"},
            {"object_type": "Global", "object_name": "*", "db_name": "t3_db", "role_name": "t3_reader", "privilege": "DescribeCollection", "grantor_name": "root"},
            {"object_type": "User", "object_name": "*", "db_name": "t3_db", "role_name": "t3_reader", "privilege": "UpdateUser", "grantor_name": "root"},
        ],
    },
    "db_star": {
        "role": "t3_reader",
        "description": "",
        "privileges": [
            {"object_type": "Collection", "object_name": "books", "db_name": "*", "role_name": "t3_reader", "privilege": "IndexDetail", "grantor_name": "root"},
            {"object_type": "Global", "object_name": "*", "db_name": "*", "role_name": "t3_reader", "privilege": "DropCollection", "grantor_name": "t3_granter"},
            {"object_type": "Global", "object_name": "*", "db_name": "*", "role_name": "t3_reader", "privilege": "ShowCollections", "grantor_name": "root"},
        ],
    },
    "granting": {
        "role": "t3_granting",
        "description": "",
        "privileges": [
            {"object_type": "Global", "object_name": "*", "db_name": "default", "role_name": "t3_granting", "privilege": "ManageOwnership", "grantor_name": "root"},
        ],
    },
}


def key_orders(value: Any) -> Any:
    """The key order of a describe_role answer and of each of its grants."""
    return list(value), [list(grant) for grant in value["privileges"]]


@pytest.fixture
def described(client, tmp_path) -> dict[str, Any]:
    uri = str(tmp_path / "registry.db")
    root = client(profile="milvus-2.4", uri=uri)
    build(root, lambda token: client(profile="milvus-2.4", uri=uri, token=token))
    return views(root)


@pytest.mark.parametrize("view", ["plain", "db_empty", "db_default"])
def test_default_database_view_equals_the_server(described, view):
    assert described[view] == RECORDED["plain"]
    assert key_orders(described[view]) == key_orders(RECORDED["plain"])


@pytest.mark.parametrize("view", ["db_other", "granting"])
def test_other_views_equal_the_server(described, view):
    assert described[view] == RECORDED[view]
    assert key_orders(described[view]) == key_orders(RECORDED[view])


def test_star_database_view_equals_the_server(described):
    assert described["db_star"] == RECORDED["db_star"]


@pytest.fixture
def described_25(client, tmp_path) -> dict[str, Any]:
    uri = str(tmp_path / "registry25.db")
    root = client(profile="milvus-2.5", uri=uri)
    build(root, lambda token: client(profile="milvus-2.5", uri=uri, token=token))
    return views(root)


def test_star_database_view_lists_every_database_from_25(described_25):
    """Milvus 2.4+ sources (P1 §6.11): `*` requests every database; the 2.3.5 server shows only `*` grants."""
    def grants(view: dict[str, Any]) -> set[tuple[str, ...]]:
        return {tuple(grant.values()) for grant in view["privileges"]}

    got = described_25["db_star"]["privileges"]
    assert grants(described_25["db_star"]) == grants(described_25["plain"]) | grants(described_25["db_other"])
    assert len(got) == len(grants(described_25["db_star"]))
    # still in Milvus's order: object type, then <db>.<object>, then privilege
    assert [g["object_type"] for g in got] == sorted(g["object_type"] for g in got)


def test_description_is_empty_in_milvus_24(described):
    """pymilvus 3.0 reports a `description`; 2.3.5 keeps none (P2 "Role names")."""
    assert all(view["description"] == "" for view in described.values())


def _record(uri: str) -> None:  # pragma: no cover - run by hand against a real server
    import pprint

    import pymilvus

    def connect(token: str) -> Any:
        return pymilvus.MilvusClient(uri, token=token, dedicated=True)

    root = connect("root:Milvus")
    try:
        build(root, connect, lambda: time.sleep(0.2))
        pprint.pprint(views(root), sort_dicts=False, width=120)
    finally:
        for role in (ROLE, GRANTING_ROLE):
            for db_name in ("", "*", OTHER_DB):
                for grant in root.describe_role(role, db_name=db_name)["privileges"]:
                    root.revoke_privilege(role, grant["object_type"], grant["privilege"], grant["object_name"],
                                          db_name=grant["db_name"])
            root.drop_role(role)
        root.drop_user(GRANTER)


if __name__ == "__main__":  # pragma: no cover
    _record(sys.argv[1])
