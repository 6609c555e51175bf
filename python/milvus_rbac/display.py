"""Rich display in Jupyter: results that stay pymilvus's plain shapes for code and draw tables in notebooks.

``describe_user``, ``describe_role`` and ``list_privilege_groups`` return the subclasses of ``dict`` and
``list`` defined here. They compare equal to pymilvus's plain results, print the same, serialise to JSON and
pickle as the plain values do, and add ``_repr_html_``, which Jupyter calls to show them as tables.
``MilvusClient._repr_html_`` draws a client's registry: its users, their roles, and the roles' grants.

>>> from milvus_rbac import MilvusClient
>>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
>>> client.create_user("user_1", "P@ssw0rd1")
>>> client.create_role("reader")
>>> client.grant_role("user_1", "reader")
>>> user = client.describe_user("user_1")
>>> user == {"user_name": "user_1", "roles": ("reader",), "description": ""}
True
>>> print(user)
{'user_name': 'user_1', 'roles': ('reader',), 'description': ''}
>>> "<td>reader</td>" in user._repr_html_()
True

Every text is escaped, so names cannot inject markup:

>>> from milvus_rbac.display import html_table
>>> html_table(["name"], [["<b>"]])
'<table><thead><tr><th>name</th></tr></thead><tbody><tr><td>&lt;b&gt;</td></tr></tbody></table>'
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Sequence, SupportsIndex, Union, overload

from milvus_rbac.exceptions import MilvusException

if TYPE_CHECKING:
    from milvus_rbac._core import MilvusClient

__all__ = ["UserDescription", "RoleDescription", "PrivilegeGroups", "client_html", "html_table"]

_GRANT_COLUMNS = ("object_type", "object_name", "db_name", "privilege", "grantor_name")


def _text(value: Any) -> str:
    """``value`` as escaped HTML text; sequences are joined with commas."""
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(item) for item in value)
    return html.escape(str(value))


def html_table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """An HTML table with a header of ``columns`` and one row per item of ``rows``, every cell escaped.

    Sequences in a cell are joined with commas.

    >>> html_table(["role", "privileges"], [["reader", ("Search", "Query")]])
    '<table><thead><tr><th>role</th><th>privileges</th></tr></thead><tbody><tr><td>reader</td><td>Search, Query</td></tr></tbody></table>'
    """
    head = "".join(f"<th>{_text(column)}</th>" for column in columns)
    body = "".join("<tr>" + "".join(f"<td>{_text(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _grants_table(grants: Sequence[Dict[str, Any]]) -> str:
    if not grants:
        return "<p><em>no grants</em></p>"
    return html_table(_GRANT_COLUMNS, ([grant.get(column, "") for column in _GRANT_COLUMNS] for grant in grants))


class UserDescription(Dict[str, Any]):
    """``describe_user``'s result: ``{"user_name": ..., "roles": (...), "description": ...}``, or ``{}`` for
    no such user, as pymilvus returns it, with an HTML table for notebooks.

    >>> user = UserDescription({"user_name": "user_1", "roles": ("reader",), "description": ""})
    >>> user == {"user_name": "user_1", "roles": ("reader",), "description": ""}
    True
    >>> import json, pickle
    >>> json.dumps(user)
    '{"user_name": "user_1", "roles": ["reader"], "description": ""}'
    >>> pickle.loads(pickle.dumps(user)) == user
    True
    >>> UserDescription()._repr_html_()
    '<p><em>no such user</em></p>'
    """

    __slots__ = ()

    def _repr_html_(self) -> str:
        """The user, its description and its roles as an HTML table."""
        if not self:
            return "<p><em>no such user</em></p>"
        roles = self.get("roles", ())
        return html_table(
            ["user", "roles", "description"],
            [[self.get("user_name", ""), roles if roles else "(public only)", self.get("description", "")]],
        )


class RoleDescription(Dict[str, Any]):
    """``describe_role``'s result: ``{"role": ..., "description": ..., "privileges": [{...}, ...]}`` as
    pymilvus returns it, with an HTML view (the role, then a table of its grants) for notebooks.

    >>> role = RoleDescription({"role": "reader", "description": "", "privileges": []})
    >>> role == {"role": "reader", "description": "", "privileges": []}
    True
    >>> role._repr_html_()
    '<p><strong>role reader</strong></p><p><em>no grants</em></p>'
    """

    __slots__ = ()

    def _repr_html_(self) -> str:
        """The role's name and description, then its grants as an HTML table."""
        title = f"<p><strong>role {_text(self.get('role', ''))}</strong>"
        description = self.get("description", "")
        if description:
            title += f": {_text(description)}"
        return title + "</p>" + _grants_table(self.get("privileges", []))


class PrivilegeGroups(List[Dict[str, Any]]):
    """``list_privilege_groups``'s result: ``[{"privilege_group": ..., "privileges": (...)}, ...]`` as
    pymilvus returns it, with an HTML table (one row per group) for notebooks.

    >>> groups = PrivilegeGroups([{"privilege_group": "readers", "privileges": ("Query", "Search")}])
    >>> groups == [{"privilege_group": "readers", "privileges": ("Query", "Search")}]
    True
    >>> groups._repr_html_()
    '<table><thead><tr><th>privilege group</th><th>privileges</th></tr></thead><tbody><tr><td>readers</td><td>Query, Search</td></tr></tbody></table>'

    A slice is a ``PrivilegeGroups`` too, so ``client.list_privilege_groups()[:3]`` draws as a table:

    >>> type(groups[:1]).__name__
    'PrivilegeGroups'
    """

    __slots__ = ()

    @overload
    def __getitem__(self, index: SupportsIndex) -> Dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> PrivilegeGroups: ...

    def __getitem__(self, index: Union[SupportsIndex, slice]) -> Union[Dict[str, Any], PrivilegeGroups]:
        if isinstance(index, slice):
            return PrivilegeGroups(super().__getitem__(index))
        return super().__getitem__(index)

    def _repr_html_(self) -> str:
        """The groups and their privileges as an HTML table."""
        return html_table(
            ["privilege group", "privileges"],
            ([group.get("privilege_group", ""), group.get("privileges", ())] for group in self),
        )


def _section(title: str, draw: Callable[[], str]) -> str:
    """An HTML section: ``draw()``'s HTML, or the error that stopped it (a denial, an older profile)."""
    try:
        body = draw()
    except MilvusException as error:
        body = f"<p><em>{_text(error.message)}</em></p>"
    return f"<h4>{_text(title)}</h4>{body}"


def client_html(client: MilvusClient) -> str:
    """The HTML that ``MilvusClient._repr_html_`` shows: the client, then its users with their roles, then
    each role with its grants in every database. Sections the client may not read show why instead.

    >>> from milvus_rbac import MilvusClient
    >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
    >>> page = client_html(client)
    >>> "<td>root</td>" in page and "<strong>role admin</strong>" in page
    True
    >>> client.close()
    >>> "this MilvusClient is closed" in client_html(client)
    True
    """

    def users() -> str:
        rows = []
        for name in client.list_users():
            user = client.describe_user(name)
            rows.append([name, user.get("roles", ()), user.get("description", "")])
        return html_table(["user", "roles", "description"], rows)

    def roles() -> str:
        return "".join(client.describe_role(name, db_name="*")._repr_html_() for name in client.list_roles())

    return (
        f"<div><p><code>{_text(repr(client))}</code></p>"
        + _section("Users", users)
        + _section("Roles and grants", roles)
        + "</div>"
    )
