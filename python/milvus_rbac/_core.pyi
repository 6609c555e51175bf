"""Type stubs for the native module ``milvus_rbac._core``."""

import datetime
from types import TracebackType
from typing import Any, Dict, List, Optional, Sequence, Tuple, Type, Union, final

from milvus_rbac.display import PrivilegeGroups, RoleDescription, UserDescription

__all__ = ["LEGACY_CODES", "MilvusClient", "NO_PASSWORD", "PROFILES", "PROFILES_WITH_DESCRIPTIONS", "SETTINGS", "__version__", "remove_registry", "serve"]
__version__: str

# The lists kept in Rust, read by the Python code rather than repeated there.

#: Milvus's legacy error codes, as ``(name, value)`` pairs (``milvus_rbac.LegacyErrorCode`` is made from them).
LEGACY_CODES: Tuple[Tuple[str, int], ...]
#: The names of the keyword-only settings of ``MilvusClient`` and ``serve``, in their order.
SETTINGS: Tuple[str, ...]
#: The profile names.
PROFILES: Tuple[str, ...]
#: The profiles whose users and roles carry descriptions (Milvus 2.6.19+).
PROFILES_WITH_DESCRIPTIONS: Tuple[str, ...]
#: The stored hash of a user whose password is not known here (copied from a server without BackupRBAC): it
#: matches no password.
NO_PASSWORD: str

def remove_registry(uri: str) -> None:
    """Remove the registry at ``uri``, an ``etcd://host:port[,...]/prefix`` one: every key under its prefix.
    Anything else is a ``ParamError`` (a file is removed as any file is)."""

def serve(
    db: str = "./rbac.db",
    host: str = "127.0.0.1",
    port: int = 19530,
    *,
    log_level: str = "info",
    max_connections: Optional[int] = None,
    idle_timeout: float = 60.0,
    header_timeout: float = 10.0,
    server_pem_path: Optional[str] = None,
    server_key_path: Optional[str] = None,
    ca_pem_path: Optional[str] = None,
    max_failed_logins: int = 30,
    max_failed_logins_per_address: int = 0,
    profile: Optional[str] = None,
    root_password: Optional[str] = None,
    super_users: Optional[Sequence[str]] = None,
    max_users: Optional[int] = 100,
    max_roles: Optional[int] = 10,
    authorization_enabled: Optional[bool] = None,
    root_should_bind_role: Optional[bool] = None,
    password_hash: Optional[str] = None,
    audit_retention: int = 100000,
) -> None:
    """Serve a registry over Milvus's gRPC protocol and RESTful API v2 until SIGINT or SIGTERM.

    At most ``max_connections`` connections are open at once (default: the process's descriptor limit less 32);
    a connection that moves no byte for ``idle_timeout`` seconds is closed, and an HTTP/1 request whose headers
    take longer than ``header_timeout`` seconds is refused. With ``server_pem_path`` and ``server_key_path`` it
    serves over TLS, and with ``ca_pem_path`` too, clients must present a certificate that CA signed (Milvus's
    tlsMode 1 and 2). A user name with ``max_failed_logins`` failed logins in a minute, or a client address with
    ``max_failed_logins_per_address`` (0: no limit), has further guesses refused without an argon2 run
    (credentials already verified in the process still pass)."""

@final
class MilvusClient:
    """A client of an embedded Milvus RBAC registry, with the user and role methods of
    ``pymilvus.MilvusClient``.

    ``uri`` is ``":memory:"`` (a private in-memory registry) or a SQLite file path shared by every client and
    process that opens it, or ``etcd://host:port[,host:port...][/prefix]``, a registry kept in etcd under the
    prefix (default ``/milvus-rbac/``; etcd's credentials and TLS from ``MILVUS_RBAC_ETCD_*``), or
    ``http(s)://host:port``, a server reached through Milvus's gRPC protocol (``protocol=
    "rest"``: its REST API v2). Credentials are checked at construction (``token="user:password"``, or ``user`` and
    ``password``). The keyword-only settings are extensions, stored when the registry is created. Over
    ``https://`` pymilvus's TLS keywords apply: ``server_pem_path``/``ca_pem_path``, ``client_pem_path``,
    ``client_key_path`` and ``server_name``.
    """

    def __new__(
        cls,
        uri: str = ":memory:",
        user: str = "",
        password: str = "",
        db_name: str = "",
        token: str = "",
        timeout: Optional[float] = None,
        *,
        profile: Optional[str] = None,
        root_password: Optional[str] = None,
        super_users: Optional[Sequence[str]] = None,
        max_users: Optional[int] = 100,
        max_roles: Optional[int] = 10,
        authorization_enabled: Optional[bool] = None,
        root_should_bind_role: Optional[bool] = None,
        password_hash: Optional[str] = None,
        audit_retention: int = 100000,
        **kwargs: Any,
    ) -> "MilvusClient": ...
    def create_user(
        self,
        user_name: str,
        password: str,
        timeout: Optional[float] = None,
        description: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        """Create a user."""
    def update_password(
        self,
        user_name: str,
        old_password: str,
        new_password: str,
        reset_connection: Optional[bool] = False,
        timeout: Optional[float] = None,
        description: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        """Change a user's password."""
    def update_user(
        self, user_name: str, description: str, timeout: Optional[float] = None, **kwargs: Any
    ) -> None:
        """Set a user's description."""
    def list_users(self, timeout: Optional[float] = None, **kwargs: Any) -> List[str]:
        """Names of all users in byte order."""
    def drop_user(self, user_name: str, timeout: Optional[float] = None, **kwargs: Any) -> None:
        """Drop a user and its memberships."""
    def describe_user(
        self, user_name: str, timeout: Optional[float] = None, **kwargs: Any
    ) -> UserDescription:
        """A user's roles and description, or ``{}`` (a dict with a notebook display)."""
    def create_role(
        self, role_name: str, timeout: Optional[float] = None, description: str = "", **kwargs: Any
    ) -> None:
        """Create a role."""
    def alter_role(
        self, role_name: str, description: str, timeout: Optional[float] = None, **kwargs: Any
    ) -> None:
        """Set a role's description."""
    def drop_role(
        self,
        role_name: str,
        force_drop: bool = False,
        timeout: Optional[float] = None,
        **kwargs: Any,
    ) -> None:
        """Drop a role."""
    def list_roles(self, timeout: Optional[float] = None, **kwargs: Any) -> List[str]:
        """Names of all roles in byte order."""
    def grant_role(
        self, user_name: str, role_name: str, timeout: Optional[float] = None, **kwargs: Any
    ) -> None:
        """Give a user a role."""
    def revoke_role(
        self, user_name: str, role_name: str, timeout: Optional[float] = None, **kwargs: Any
    ) -> None:
        """Take a role from a user."""
    def grant_privilege(
        self,
        role_name: str,
        object_type: str,
        privilege: str,
        object_name: str,
        db_name: Optional[str] = "",
        timeout: Optional[float] = None,
        **kwargs: Any,
    ) -> None:
        """Grant a privilege on an object to a role."""
    def revoke_privilege(
        self,
        role_name: str,
        object_type: str,
        privilege: str,
        object_name: str,
        db_name: Optional[str] = "",
        timeout: Optional[float] = None,
        **kwargs: Any,
    ) -> None:
        """Revoke a privilege on an object from a role."""
    def grant_privilege_v2(
        self,
        role_name: str,
        privilege: str,
        collection_name: str,
        db_name: Optional[str] = None,
        timeout: Optional[float] = None,
        **kwargs: Any,
    ) -> None:
        """Grant a privilege or privilege group on a collection and database."""
    def revoke_privilege_v2(
        self,
        role_name: str,
        privilege: str,
        collection_name: str,
        db_name: Optional[str] = None,
        timeout: Optional[float] = None,
        **kwargs: Any,
    ) -> None:
        """Revoke a privilege or privilege group on a collection and database."""
    def describe_role(
        self, role_name: str, timeout: Optional[float] = None, **kwargs: Any
    ) -> RoleDescription:
        """A role's description and grants (keyword ``db_name`` selects the database)."""
    def create_privilege_group(
        self, group_name: str, timeout: Optional[float] = None, **kwargs: Any
    ) -> None:
        """Create an empty custom privilege group."""
    def drop_privilege_group(
        self, group_name: str, timeout: Optional[float] = None, **kwargs: Any
    ) -> None:
        """Drop a custom privilege group."""
    def list_privilege_groups(
        self, timeout: Optional[float] = None, **kwargs: Any
    ) -> PrivilegeGroups:
        """Custom groups, then the built-in ones, with their privileges."""
    def add_privileges_to_group(
        self, group_name: str, privileges: List[str], timeout: Optional[float] = None, **kwargs: Any
    ) -> None:
        """Add privileges to a custom group."""
    def remove_privileges_from_group(
        self, group_name: str, privileges: List[str], timeout: Optional[float] = None, **kwargs: Any
    ) -> None:
        """Remove privileges from a custom group."""
    def check_privilege(
        self,
        user_name: str,
        privilege: str,
        object_type: str = "Global",
        object_name: str = "*",
        db_name: str = "default",
        timeout: Optional[float] = None,
        **kwargs: Any,
    ) -> bool:
        """Extension: whether a user may have a privilege on an object."""
    def explain_privilege(
        self,
        user_name: str,
        privilege: str,
        object_type: str = "Global",
        object_name: str = "*",
        db_name: str = "default",
        timeout: Optional[float] = None,
        **kwargs: Any,
    ) -> Dict[str, Any]:
        """Extension: ``check_privilege``'s answer and what decided it."""
    def backup_rbac(
        self, timeout: Optional[float] = None, format: str = "milvus-rbac", **kwargs: Any
    ) -> Dict[str, Any]:
        """Extension: users, roles, grants and groups as a JSON-serialisable dict (``format="milvus"``: Milvus's
        RBACMeta as milvus-backup writes it)."""
    def restore_rbac(
        self, meta: Union[Dict[str, Any], bytes, str], timeout: Optional[float] = None, **kwargs: Any
    ) -> None:
        """Extension: restore a ``backup_rbac`` dict, or Milvus's RBACMeta (protobuf bytes or JSON), all or
        nothing."""
    def audit(
        self,
        user_name: Optional[str] = None,
        since: Union[None, float, int, str, datetime.datetime] = None,
        timeout: Optional[float] = None,
        **kwargs: Any,
    ) -> List[Dict[str, Any]]:
        """Extension: the audit trail, oldest first (changes, refused changes, denials, failed logins)."""
    def verify_audit(self, timeout: Optional[float] = None, **kwargs: Any) -> Dict[str, Any]:
        """Extension: check the audit trail's hash chain and bounds; ``intact`` and the first ``problem``."""
    def close(self) -> None:
        """Release the registry."""
    def _repr_html_(self) -> str:
        """An HTML overview for notebooks: users, their roles, the roles' grants."""
    def __enter__(self) -> "MilvusClient": ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> bool: ...
