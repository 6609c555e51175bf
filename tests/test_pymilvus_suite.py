"""A test suite written for pymilvus, as an application's suite would be written against a Milvus server.

Everything below uses only ``pymilvus.MilvusClient`` and pymilvus's exceptions. With no server, the
``patch_pymilvus`` fixture of milvus-rbac's pytest plugin serves it in-process (the autouse fixture below is the
one line a suite adds). With ``MILVUS_URI`` set (and ``MILVUS_TOKEN``, default ``root:Milvus``), the same tests
run against that server, unpatched; each test drops what it created.
"""

from __future__ import annotations

import os
from typing import Iterator, List

import pytest
from pymilvus import MilvusClient
from pymilvus.exceptions import MilvusException

URI = os.environ.get("MILVUS_URI", "http://localhost:19530")
TOKEN = os.environ.get("MILVUS_TOKEN", "root:Milvus")
PASSWORD = "P@ssw0rd"


@pytest.fixture(autouse=True)
def milvus_without_a_server(request: pytest.FixtureRequest) -> None:
    if "MILVUS_URI" not in os.environ:
        request.getfixturevalue("patch_pymilvus")


class Cleanup:
    """Names a test created, dropped at its end (so the suite can run against a shared server)."""

    def __init__(self) -> None:
        self.users: List[str] = []
        self.roles: List[str] = []
        self.groups: List[str] = []


@pytest.fixture
def created() -> Iterator[Cleanup]:
    cleanup = Cleanup()
    yield cleanup
    admin = MilvusClient(URI, token=TOKEN)
    for user in cleanup.users:
        admin.drop_user(user)
    for role in cleanup.roles:
        if role in admin.list_roles():
            admin.drop_role(role, force_drop=True)
    for group in cleanup.groups:
        admin.drop_privilege_group(group)
    admin.close()


@pytest.fixture
def admin(created: Cleanup) -> Iterator[MilvusClient]:
    client = MilvusClient(uri=URI, token=TOKEN)
    yield client
    client.close()


# --- the application code under test: what a team writes to provision access --------------------------


def provision_reader(client: MilvusClient, user: str, password: str, collection: str) -> None:
    """Give ``user`` read access to ``collection`` through a role named after the collection."""
    role = f"{collection}_reader"
    if role not in client.list_roles():
        client.create_role(role_name=role)
        client.grant_privilege(role, "Collection", "Search", collection, db_name="default")
        client.grant_privilege(role, "Collection", "Query", collection, db_name="default")
    if user not in client.list_users():
        client.create_user(user_name=user, password=password)
    client.grant_role(user_name=user, role_name=role)


def revoke_reader(client: MilvusClient, user: str, collection: str) -> None:
    client.revoke_role(user_name=user, role_name=f"{collection}_reader")


# --- the tests -------------------------------------------------------------------------------------------


def test_create_describe_and_drop_a_user(admin: MilvusClient, created: Cleanup) -> None:
    created.users.append("suite_user")
    admin.create_user(user_name="suite_user", password=PASSWORD)
    assert "suite_user" in admin.list_users()
    assert admin.describe_user(user_name="suite_user")["roles"] == ()
    admin.drop_user(user_name="suite_user")
    assert "suite_user" not in admin.list_users()


def test_a_duplicate_user_is_refused(admin: MilvusClient, created: Cleanup) -> None:
    created.users.append("suite_user")
    admin.create_user(user_name="suite_user", password=PASSWORD)
    with pytest.raises(MilvusException, match="user already exists: suite_user"):
        admin.create_user(user_name="suite_user", password=PASSWORD)


def test_invalid_names_are_refused_with_code_1100(admin: MilvusClient) -> None:
    with pytest.raises(MilvusException) as caught:
        admin.create_user(user_name="1abc", password=PASSWORD)
    assert caught.value.code == 1100
    assert "the first character must be a letter" in caught.value.message


def test_root_cannot_be_dropped(admin: MilvusClient) -> None:
    with pytest.raises(MilvusException, match="root user cannot be deleted"):
        admin.drop_user(user_name="root")


def test_provision_reader_grants_search_and_query(admin: MilvusClient, created: Cleanup) -> None:
    created.users.append("suite_alice")
    created.roles.append("suite_books_reader")
    provision_reader(admin, "suite_alice", PASSWORD, "suite_books")
    provision_reader(admin, "suite_alice", PASSWORD, "suite_books")  # idempotent
    assert admin.describe_user(user_name="suite_alice")["roles"] == ("suite_books_reader",)
    grants = admin.describe_role(role_name="suite_books_reader")["privileges"]
    assert sorted((g["object_type"], g["object_name"], g["privilege"]) for g in grants) == [
        ("Collection", "suite_books", "Query"),
        ("Collection", "suite_books", "Search"),
    ]
    assert {g["db_name"] for g in grants} == {"default"}
    revoke_reader(admin, "suite_alice", "suite_books")
    assert admin.describe_user(user_name="suite_alice")["roles"] == ()


def test_revoking_a_privilege_removes_the_grant(admin: MilvusClient, created: Cleanup) -> None:
    created.roles.append("suite_role")
    admin.create_role(role_name="suite_role")
    admin.grant_privilege("suite_role", "Global", "CreateCollection", "*")
    assert [g["privilege"] for g in admin.describe_role("suite_role")["privileges"]] == ["CreateCollection"]
    admin.revoke_privilege("suite_role", "Global", "CreateCollection", "*")
    assert admin.describe_role("suite_role")["privileges"] == []
    admin.drop_role(role_name="suite_role")


def test_a_role_with_grants_cannot_be_dropped_without_force(admin: MilvusClient, created: Cleanup) -> None:
    created.roles.append("suite_role")
    admin.create_role(role_name="suite_role")
    admin.grant_privilege_v2("suite_role", "CollectionReadOnly", "*", db_name="default")
    with pytest.raises(MilvusException, match="fail to drop the role that it has privileges"):
        admin.drop_role(role_name="suite_role")
    admin.drop_role(role_name="suite_role", force_drop=True)
    assert "suite_role" not in admin.list_roles()


def test_built_in_roles_cannot_be_dropped(admin: MilvusClient) -> None:
    for role in ("admin", "public"):
        with pytest.raises(MilvusException):
            admin.drop_role(role_name=role)


def test_custom_privilege_groups(admin: MilvusClient, created: Cleanup) -> None:
    created.groups.append("suite_group")
    admin.create_privilege_group(group_name="suite_group")
    admin.add_privileges_to_group(group_name="suite_group", privileges=["Query", "Search"])
    groups = {g["privilege_group"]: g["privileges"] for g in admin.list_privilege_groups()}
    assert sorted(groups["suite_group"]) == ["Query", "Search"]
    assert "CollectionReadOnly" in groups
    admin.remove_privileges_from_group(group_name="suite_group", privileges=["Query"])
    groups = {g["privilege_group"]: g["privileges"] for g in admin.list_privilege_groups()}
    assert list(groups["suite_group"]) == ["Search"]
    admin.drop_privilege_group(group_name="suite_group")
    assert "suite_group" not in {g["privilege_group"] for g in admin.list_privilege_groups()}


def test_a_user_without_privileges_cannot_manage_users(admin: MilvusClient, created: Cleanup) -> None:
    created.users.append("suite_bob")
    admin.create_user(user_name="suite_bob", password=PASSWORD)
    bob = MilvusClient(uri=URI, user="suite_bob", password=PASSWORD)
    with pytest.raises(MilvusException, match="permission deny to suite_bob"):
        bob.create_user(user_name="suite_eve", password=PASSWORD)
    bob.close()


def test_the_admin_role_may_manage_users(admin: MilvusClient, created: Cleanup) -> None:
    created.users.extend(["suite_carol", "suite_dave"])
    admin.create_user(user_name="suite_carol", password=PASSWORD)
    admin.grant_role(user_name="suite_carol", role_name="admin")
    carol = MilvusClient(uri=URI, token=f"suite_carol:{PASSWORD}")
    carol.create_user(user_name="suite_dave", password=PASSWORD)
    assert "suite_dave" in carol.list_users()
    carol.close()


def test_users_change_their_own_password(admin: MilvusClient, created: Cleanup) -> None:
    created.users.append("suite_erin")
    admin.create_user(user_name="suite_erin", password=PASSWORD)
    erin = MilvusClient(uri=URI, token=f"suite_erin:{PASSWORD}")
    erin.update_password(user_name="suite_erin", old_password=PASSWORD, new_password="N3w-P@ssw0rd")
    erin.close()
    MilvusClient(uri=URI, token="suite_erin:N3w-P@ssw0rd").close()
    with pytest.raises(MilvusException):
        MilvusClient(uri=URI, token=f"suite_erin:{PASSWORD}")


def test_a_wrong_old_password_is_refused(admin: MilvusClient, created: Cleanup) -> None:
    created.users.append("suite_frank")
    admin.create_user(user_name="suite_frank", password=PASSWORD)
    frank = MilvusClient(uri=URI, token=f"suite_frank:{PASSWORD}")
    with pytest.raises(MilvusException, match="old password not correct for suite_frank"):
        frank.update_password(user_name="suite_frank", old_password="Wr0ng-pass", new_password="N3w-P@ssw0rd")
    frank.close()
