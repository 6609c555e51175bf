//! The table of every RBAC operation: each one defined once, here.
//!
//! An entry names the operation (pymilvus's method name) and its request type, then says:
//! - `rpc`: Milvus's gRPC method (`none` for this project's extensions), whose failures carry its legacy code;
//! - `available`: the profiles that have it (`Always`, `WithGroups`: Milvus 2.5+, `WithDescriptions`: 2.6.19+);
//! - `needs`: the privilege Milvus's interceptor checks, on which object type, and on which object (`any` for
//!   `*`, or the argument that names it);
//! - `rest`: Milvus's REST v2 path and the Go request struct its body binds to (`none`: not in REST v2);
//! - `python`: pymilvus's signature: required parameters, optional ones (in pymilvus's order), parameters read
//!   from `**kwargs`, and the signature as Python shows it;
//! - `args`: the arguments, each with its kind (see [`super::ArgKind`]) and an optional default;
//! - `returns`: the kind of reply (see [`super::Reply`]).
//!
//! The doc comment of an entry is the method's Python docstring (its examples run as doctests).
//!
//! `for_each_operation!(m)` hands the whole table to the macro `m`: the core expands it into the request
//! types and the table of [`super::OpSpec`], the registry into its dispatch, the Python binding into its
//! methods. A new operation is a new entry here, its rule in the registry, its stub, and its tests.

macro_rules! for_each_operation {
    ($expand:ident) => {
        $expand! {
            /// Create a user. `description` is kept in profiles with descriptions (Milvus 2.6.19 and "docs").
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.create_user("user_1", "P@ssw0rd")
            /// >>> client.create_user("user_1", "P@ssw0rd")
            /// Traceback (most recent call last):
            ///   ...
            /// milvus_rbac.exceptions.MilvusException: <MilvusException: (code=65535, message=user already exists: user_1)>
            create_user => CreateUser {
                rpc: CreateCredential,
                available: Always,
                needs: Global "CreateOwnership" on any,
                rest: ("/users/create", PasswordReq),
                python: [user_name, password] [timeout, description] []
                    "($self, user_name, password, timeout=None, description=None, **kwargs)",
                args: { user_name: UserName, password: Password, timeout: Timeout, description: Description },
                returns: Done,
            }

            /// Change a user's password. The old password is required unless this client's user is a super user.
            /// With `reset_connection=True`, this client goes on as `user_name` with the new password.
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.create_user("user_1", "P@ssw0rd")
            /// >>> client.update_password("user_1", "P@ssw0rd", "N3w-P@ssw0rd")
            /// >>> client.update_password("user_1", "P@ssw0rd", "N3w-P@ssw0rd")
            /// Traceback (most recent call last):
            ///   ...
            /// milvus_rbac.exceptions.MilvusException: <MilvusException: (code=1400, message=old password not correct for user_1: not authenticated)>
            update_password => UpdatePassword {
                rpc: UpdateCredential,
                available: Always,
                needs: User "UpdateUser" on user_name,
                rest: ("/users/update_password", NewPasswordReq),
                python: [user_name, old_password, new_password] [reset_connection, timeout, description] []
                    "($self, user_name, old_password, new_password, reset_connection=False, timeout=None, description=None, **kwargs)",
                args: {
                    user_name: UserName,
                    old_password: Password,
                    new_password: NewPassword,
                    reset_connection: Reconnect,
                    timeout: Timeout,
                    description: Description,
                },
                returns: Done,
            }

            /// Set a user's description (Milvus 2.6.19). Older profiles answer as older servers do.
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.create_user("user_1", "P@ssw0rd")
            /// >>> client.update_user("user_1", "reads books")
            /// >>> client.describe_user("user_1")["description"]
            /// 'reads books'
            update_user => UpdateUser {
                rpc: UpdateCredential,
                available: Always,
                needs: User "UpdateUser" on user_name,
                rest: none,
                python: [user_name, description] [timeout] []
                    "($self, user_name, description, timeout=None, **kwargs)",
                args: { user_name: UserName, description: NewDescription, timeout: Timeout },
                returns: Done,
            }

            /// Drop a user and its role memberships. Dropping a missing user succeeds; root cannot be dropped.
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.create_user("user_1", "P@ssw0rd")
            /// >>> client.drop_user("user_1")
            /// >>> client.drop_user("user_1")  # already gone: still a success
            /// >>> client.list_users()
            /// ['root']
            drop_user => DropUser {
                rpc: DeleteCredential,
                available: Always,
                needs: Global "DropOwnership" on any,
                rest: ("/users/drop", UserReq),
                python: [user_name] [timeout] []
                    "($self, user_name, timeout=None, **kwargs)",
                args: { user_name: DroppedUser, timeout: Timeout },
                returns: Done,
            }

            /// Names of all users, root included, in byte order.
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.create_user("user_1", "P@ssw0rd")
            /// >>> client.list_users()
            /// ['root', 'user_1']
            list_users => ListUsers {
                rpc: ListCredUsers,
                available: Always,
                needs: Global "SelectOwnership" on any,
                rest: ("/users/list", DatabaseReq),
                python: [] [timeout] []
                    "($self, timeout=None, **kwargs)",
                args: { timeout: Timeout },
                returns: Names,
            }

            /// `{"user_name": ..., "roles": (...), "description": ...}`, or `{}` if there is no such user.
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.create_user("user_1", "P@ssw0rd")
            /// >>> client.grant_role("user_1", "admin")
            /// >>> client.describe_user("user_1")
            /// {'user_name': 'user_1', 'roles': ('admin',), 'description': ''}
            /// >>> client.describe_user("nobody")
            /// {}
            describe_user => DescribeUser {
                rpc: SelectUser,
                available: Always,
                needs: User "SelectUser" on user_name,
                rest: ("/users/describe", UserReq),
                python: [user_name] [timeout] []
                    "($self, user_name, timeout=None, **kwargs)",
                args: { user_name: UserName, timeout: Timeout },
                returns: User,
            }

            /// Create a role. `description` is kept in profiles with descriptions.
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.create_role("reader", description="reads books")
            /// >>> client.list_roles()
            /// ['admin', 'public', 'reader']
            create_role => CreateRole {
                rpc: CreateRole,
                available: Always,
                needs: Global "CreateOwnership" on any,
                rest: ("/roles/create", RoleReq),
                python: [role_name] [timeout, description] []
                    "($self, role_name, timeout=None, description='', **kwargs)",
                args: { role_name: RoleName, timeout: Timeout, description: Description },
                returns: Done,
            }

            /// Set a role's description (Milvus 2.6.19; not available in older profiles).
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.create_role("reader")
            /// >>> client.alter_role("reader", "reads books")
            /// >>> client.describe_role("reader")["description"]
            /// 'reads books'
            alter_role => AlterRole {
                rpc: AlterRole,
                available: WithDescriptions,
                needs: Global "CreateOwnership" on any,
                rest: ("/roles/alter", RoleReq),
                python: [role_name, description] [timeout] []
                    "($self, role_name, description, timeout=None, **kwargs)",
                args: { role_name: RoleName, description: NewDescription, timeout: Timeout },
                returns: Done,
            }

            /// Drop a role; its users lose it. admin and public cannot be dropped.
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.create_role("reader")
            /// >>> client.grant_privilege_v2("reader", "Search", "books")
            /// >>> client.drop_role("reader")
            /// Traceback (most recent call last):
            ///   ...
            /// milvus_rbac.exceptions.MilvusException: <MilvusException: (code=65535, message=fail to drop the role that it has privileges. Use REVOKE API to revoke privileges)>
            /// >>> client.drop_role("reader", force_drop=True)
            drop_role => DropRole {
                rpc: DropRole,
                available: Always,
                needs: Global "DropOwnership" on any,
                rest: ("/roles/drop", RoleReq),
                python: [role_name] [force_drop, timeout] []
                    "($self, role_name, force_drop=False, timeout=None, **kwargs)",
                args: { role_name: RoleName, force_drop: Flag, timeout: Timeout },
                returns: Done,
            }

            /// Names of all roles, admin and public included, in byte order.
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.list_roles()
            /// ['admin', 'public']
            list_roles => ListRoles {
                rpc: SelectRole,
                available: Always,
                needs: Global "SelectOwnership" on any,
                rest: ("/roles/list", DatabaseReq),
                python: [] [timeout] []
                    "($self, timeout=None, **kwargs)",
                args: { timeout: Timeout },
                returns: Names,
            }

            /// Give `user_name` the role `role_name` (a no-op if it has it).
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.create_user("user_1", "P@ssw0rd")
            /// >>> client.grant_role("user_1", "admin")
            /// >>> client.describe_user("user_1")["roles"]
            /// ('admin',)
            grant_role => GrantRole {
                rpc: OperateUserRole,
                available: Always,
                needs: Global "ManageOwnership" on any,
                rest: ("/users/grant_role", UserRoleReq),
                python: [user_name, role_name] [timeout] []
                    "($self, user_name, role_name, timeout=None, **kwargs)",
                args: { user_name: UserName, role_name: RoleName, timeout: Timeout },
                returns: Done,
            }

            /// Take the role `role_name` from `user_name` (a no-op if it does not have it).
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.create_user("user_1", "P@ssw0rd")
            /// >>> client.grant_role("user_1", "admin")
            /// >>> client.revoke_role("user_1", "admin")
            /// >>> client.describe_user("user_1")["roles"]
            /// ()
            revoke_role => RevokeRole {
                rpc: OperateUserRole,
                available: Always,
                needs: Global "ManageOwnership" on any,
                rest: ("/users/revoke_role", UserRoleReq),
                python: [user_name, role_name] [timeout] []
                    "($self, user_name, role_name, timeout=None, **kwargs)",
                args: { user_name: UserName, role_name: RoleName, timeout: Timeout },
                returns: Done,
            }

            /// Grant `privilege` on `object_name` of `object_type` (`Global`, `Collection`, `User`) to a role, in
            /// database `db_name` (`""` is `default`). Granting twice is a no-op.
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.create_role("reader")
            /// >>> client.grant_privilege("reader", "Collection", "Search", "books")
            /// >>> [(g["object_name"], g["privilege"]) for g in client.describe_role("reader")["privileges"]]
            /// [('books', 'Search')]
            grant_privilege => GrantPrivilege {
                rpc: OperatePrivilege,
                available: Always,
                needs: Global "ManageOwnership" on any,
                rest: ("/roles/grant_privilege", GrantReq),
                python: [role_name, object_type, privilege, object_name] [db_name, timeout] []
                    "($self, role_name, object_type, privilege, object_name, db_name='', timeout=None, **kwargs)",
                args: {
                    role_name: RoleName,
                    object_type: ObjectType,
                    privilege: Privilege,
                    object_name: ObjectName,
                    db_name: Database,
                    timeout: Timeout,
                },
                returns: Done,
            }

            /// Revoke what `grant_privilege` granted. Revoking what is not granted is a no-op.
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.create_role("reader")
            /// >>> client.grant_privilege("reader", "Collection", "Search", "books")
            /// >>> client.revoke_privilege("reader", "Collection", "Search", "books")
            /// >>> client.describe_role("reader")["privileges"]
            /// []
            revoke_privilege => RevokePrivilege {
                rpc: OperatePrivilege,
                available: Always,
                needs: Global "ManageOwnership" on any,
                rest: ("/roles/revoke_privilege", GrantReq),
                python: [role_name, object_type, privilege, object_name] [db_name, timeout] []
                    "($self, role_name, object_type, privilege, object_name, db_name='', timeout=None, **kwargs)",
                args: {
                    role_name: RoleName,
                    object_type: ObjectType,
                    privilege: Privilege,
                    object_name: ObjectName,
                    db_name: Database,
                    timeout: Timeout,
                },
                returns: Done,
            }

            /// Grant a privilege or privilege group on `collection_name` in `db_name` (Milvus 2.5+; `*` for all).
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.create_role("reader")
            /// >>> client.grant_privilege_v2("reader", "CollectionReadOnly", "books", db_name="default")
            /// >>> client.describe_role("reader")["privileges"][0]["privilege"]
            /// 'CollectionReadOnly'
            grant_privilege_v2 => GrantPrivilegeV2 {
                rpc: OperatePrivilegeV2,
                available: WithGroups,
                needs: Global "ManageOwnership" on any,
                rest: ("/roles/grant_privilege_v2", GrantV2Req),
                python: [role_name, privilege, collection_name] [db_name, timeout] []
                    "($self, role_name, privilege, collection_name, db_name=None, timeout=None, **kwargs)",
                args: {
                    role_name: RoleName,
                    privilege: Privilege,
                    collection_name: CollectionName,
                    db_name: GrantDatabase,
                    timeout: Timeout,
                },
                returns: Done,
            }

            /// Revoke what `grant_privilege_v2` granted.
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.create_role("reader")
            /// >>> client.grant_privilege_v2("reader", "CollectionReadOnly", "books")
            /// >>> client.revoke_privilege_v2("reader", "CollectionReadOnly", "books")
            /// >>> client.describe_role("reader")["privileges"]
            /// []
            revoke_privilege_v2 => RevokePrivilegeV2 {
                rpc: OperatePrivilegeV2,
                available: WithGroups,
                needs: Global "ManageOwnership" on any,
                rest: ("/roles/revoke_privilege_v2", GrantV2Req),
                python: [role_name, privilege, collection_name] [db_name, timeout] []
                    "($self, role_name, privilege, collection_name, db_name=None, timeout=None, **kwargs)",
                args: {
                    role_name: RoleName,
                    privilege: Privilege,
                    collection_name: CollectionName,
                    db_name: GrantDatabase,
                    timeout: Timeout,
                },
                returns: Done,
            }

            /// `{"role": ..., "description": ..., "privileges": [{...}, ...]}`: the role's grants in database
            /// `db_name` (keyword; `""` is `default`, `*` is all) and in `*`, in Milvus's order.
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.create_role("reader")
            /// >>> client.grant_privilege("reader", "Collection", "Search", "books", db_name="db1")
            /// >>> client.describe_role("reader")["privileges"]
            /// []
            /// >>> client.describe_role("reader", db_name="db1")["privileges"]
            /// [{'object_type': 'Collection', 'object_name': 'books', 'db_name': 'db1', 'role_name': 'reader', 'privilege': 'Search', 'grantor_name': 'root'}]
            describe_role => DescribeRole {
                rpc: SelectGrant,
                available: Always,
                // pymilvus asks SelectRole before SelectGrant, so even one's own roles need SelectOwnership.
                needs: Global "SelectOwnership" on any,
                rest: ("/roles/describe", RoleReq),
                python: [role_name] [timeout] [db_name]
                    "($self, role_name, timeout=None, **kwargs)",
                args: { role_name: RoleName, timeout: Timeout, db_name: Database },
                returns: Role,
            }

            /// Create an empty custom privilege group (Milvus 2.5+).
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.create_privilege_group("readers")
            /// >>> client.list_privilege_groups()[0]
            /// {'privilege_group': 'readers', 'privileges': ()}
            create_privilege_group => CreatePrivilegeGroup {
                rpc: CreatePrivilegeGroup,
                available: WithGroups,
                needs: Global "CreatePrivilegeGroup" on any,
                rest: ("/privilege_groups/create", PrivilegeGroupReq),
                python: [group_name] [timeout] []
                    "($self, group_name, timeout=None, **kwargs)",
                args: { group_name: GroupName, timeout: Timeout },
                returns: Done,
            }

            /// Drop a custom privilege group; refused while a role holds it, a no-op for any other name.
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.create_privilege_group("readers")
            /// >>> client.drop_privilege_group("readers")
            /// >>> "readers" in [g["privilege_group"] for g in client.list_privilege_groups()]
            /// False
            drop_privilege_group => DropPrivilegeGroup {
                rpc: DropPrivilegeGroup,
                available: WithGroups,
                needs: Global "DropPrivilegeGroup" on any,
                rest: ("/privilege_groups/drop", PrivilegeGroupReq),
                python: [group_name] [timeout] []
                    "($self, group_name, timeout=None, **kwargs)",
                args: { group_name: GroupName, timeout: Timeout },
                returns: Done,
            }

            /// `[{"privilege_group": ..., "privileges": (...)}, ...]`: custom groups by name, then the built-in ones.
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> [g["privilege_group"] for g in client.list_privilege_groups()][:3]
            /// ['ClusterReadOnly', 'ClusterReadWrite', 'ClusterAdmin']
            list_privilege_groups => ListPrivilegeGroups {
                rpc: ListPrivilegeGroups,
                available: WithGroups,
                needs: Global "ListPrivilegeGroups" on any,
                rest: ("/privilege_groups/list", DatabaseReq),
                python: [] [timeout] []
                    "($self, timeout=None, **kwargs)",
                args: { timeout: Timeout },
                returns: Groups,
            }

            /// Add privileges (or the members of groups) to a custom group; they must share one privilege level.
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.create_privilege_group("readers")
            /// >>> client.add_privileges_to_group("readers", ["Search", "Query"])
            /// >>> client.list_privilege_groups()[0]
            /// {'privilege_group': 'readers', 'privileges': ('Query', 'Search')}
            add_privileges_to_group => AddPrivilegesToGroup {
                rpc: OperatePrivilegeGroup,
                available: WithGroups,
                needs: Global "OperatePrivilegeGroup" on any,
                rest: ("/privilege_groups/add_privileges_to_group", PrivilegeGroupReq),
                python: [group_name, privileges] [timeout] []
                    "($self, group_name, privileges, timeout=None, **kwargs)",
                args: { group_name: GroupName, privileges: Privileges, timeout: Timeout },
                returns: Done,
            }

            /// Remove privileges from a custom group (absent ones are ignored).
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.create_privilege_group("readers")
            /// >>> client.add_privileges_to_group("readers", ["Search", "Query"])
            /// >>> client.remove_privileges_from_group("readers", ["Query"])
            /// >>> client.list_privilege_groups()[0]["privileges"]
            /// ('Search',)
            remove_privileges_from_group => RemovePrivilegesFromGroup {
                rpc: OperatePrivilegeGroup,
                available: WithGroups,
                needs: Global "OperatePrivilegeGroup" on any,
                rest: ("/privilege_groups/remove_privileges_from_group", PrivilegeGroupReq),
                python: [group_name, privileges] [timeout] []
                    "($self, group_name, privileges, timeout=None, **kwargs)",
                args: { group_name: GroupName, privileges: Privileges, timeout: Timeout },
                returns: Done,
            }

            /// Extension (not in pymilvus): whether `user_name` may have `privilege` on `object_name` of
            /// `object_type` in `db_name`, decided as every operation is. Needs `User/SelectUser` on that user (or
            /// is one's own question).
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.create_user("user_1", "P@ssw0rd")
            /// >>> client.check_privilege("user_1", "Search", "Collection", "books")
            /// False
            /// >>> client.grant_role("user_1", "admin")
            /// >>> client.check_privilege("user_1", "Search", "Collection", "books")
            /// True
            check_privilege => CheckPrivilege {
                rpc: none,
                available: Always,
                needs: User "SelectUser" on user_name,
                rest: none,
                python: [user_name, privilege] [object_type, object_name, db_name, timeout] []
                    "($self, user_name, privilege, object_type='Global', object_name='*', db_name='default', timeout=None, **kwargs)",
                args: {
                    user_name: UserName,
                    privilege: Privilege,
                    object_type: ObjectType = "Global",
                    object_name: ObjectName = "*",
                    db_name: Database = "default",
                    timeout: Timeout,
                },
                returns: Allowed,
            }

            /// Extension (not in pymilvus): `check_privilege`'s answer with its reason: `{"allowed", "user_name",
            /// "privilege", "object_type", "object_name", "db_name", "reason", "role", "grant", "group"}`, where
            /// `reason` is `root`, `admin`, `self`, `grant`, `authorization_disabled` or `denied`, and `role`,
            /// `grant` and `group` name what granted it.
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.create_user("user_1", "P@ssw0rd")
            /// >>> client.create_role("reader")
            /// >>> client.grant_privilege_v2("reader", "CollectionReadOnly", "books")
            /// >>> client.grant_role("user_1", "reader")
            /// >>> answer = client.explain_privilege("user_1", "Search", "Collection", "books")
            /// >>> answer["allowed"], answer["reason"], answer["role"], answer["group"]
            /// (True, 'grant', 'reader', 'CollectionReadOnly')
            explain_privilege => ExplainPrivilege {
                rpc: none,
                available: Always,
                needs: User "SelectUser" on user_name,
                rest: none,
                python: [user_name, privilege] [object_type, object_name, db_name, timeout] []
                    "($self, user_name, privilege, object_type='Global', object_name='*', db_name='default', timeout=None, **kwargs)",
                args: {
                    user_name: UserName,
                    privilege: Privilege,
                    object_type: ObjectType = "Global",
                    object_name: ObjectName = "*",
                    db_name: Database = "default",
                    timeout: Timeout,
                },
                returns: Explanation,
            }

            /// Extension (not in pymilvus): the registry's users (with password hashes), roles, grants and custom
            /// groups, without root, admin and public, as a JSON-serialisable dict. `format="milvus"` gives it as
            /// Milvus's `RBACMeta` in milvus-backup's JSON (which `RestoreRBAC` and milvus-backup read; it has no
            /// descriptions, and Milvus checks only the bcrypt hashes it made itself).
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.create_user("user_1", "P@ssw0rd")
            /// >>> backup = client.backup_rbac()
            /// >>> backup["version"], [u["user_name"] for u in backup["users"]]
            /// (1, ['user_1'])
            /// >>> backup["users"][0]["password_hash"].startswith("$argon2id$")
            /// True
            backup_rbac => BackupRbac {
                rpc: BackupRBAC,
                available: Always,
                needs: Global "BackupRBAC" on any,
                rest: none,
                python: [] [timeout, format] []
                    "($self, timeout=None, format='milvus-rbac', **kwargs)",
                args: { timeout: Timeout, format: BackupFormat = "milvus-rbac" },
                returns: Backup,
            }

            /// Extension (not in pymilvus): restore what `backup_rbac` returned; all or nothing, refused if any
            /// user, role or group of the backup exists already.
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.create_user("user_1", "P@ssw0rd")
            /// >>> backup = client.backup_rbac()
            /// >>> other = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> other.restore_rbac(backup)
            /// >>> other.list_users()
            /// ['root', 'user_1']
            /// >>> other.restore_rbac(backup)  # all or nothing: user_1 exists now
            /// Traceback (most recent call last):
            ///   ...
            /// milvus_rbac.exceptions.MilvusException: <MilvusException: (code=65535, message=user [user_1] already exists)>
            restore_rbac => RestoreRbac {
                rpc: RestoreRBAC,
                available: Always,
                needs: Global "RestoreRBAC" on any,
                rest: none,
                python: [meta] [timeout] []
                    "($self, meta, timeout=None, **kwargs)",
                args: { meta: Backup, timeout: Timeout },
                returns: Done,
            }

            /// Extension (not in pymilvus): the registry's audit trail, oldest first: every change (who, when,
            /// which operation, on what, the result), every refused change, every denial and every failed login,
            /// as dicts `{"seq", "time", "user", "db_name", "operation", "target", "result", "code", "message",
            /// "hash"}`, where `result` is `ok`, `error`, `denied` or `login_failed`, and `target` holds the
            /// operation's arguments (never a password). `user_name` keeps one user's records; `since` (a
            /// `datetime`, an ISO 8601 text or seconds since the epoch) the newer ones. A change and its record
            /// are written in one transaction. Needs `Global/BackupRBAC`: the trail tells as much about who
            /// holds access as a backup does.
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.create_role("reader")
            /// >>> last = client.audit()[-1]
            /// >>> last["user"], last["operation"], last["target"], last["result"]
            /// ('root', 'create_role', {'role_name': 'reader'}, 'ok')
            audit => Audit {
                rpc: none,
                available: Always,
                needs: Global "BackupRBAC" on any,
                rest: none,
                python: [] [user_name, since, timeout] []
                    "($self, user_name=None, since=None, timeout=None, **kwargs)",
                args: { user_name: UserFilter, since: Since, timeout: Timeout },
                returns: AuditRecords,
            }

            /// Extension (not in pymilvus): check the audit trail: every record's hash, the chain between them,
            /// and that none was removed. Returns `{"intact", "records", "first", "last", "head", "problem"}`;
            /// `head` is the newest record's hash (kept elsewhere, it shows a rewritten chain too), `problem`
            /// the first one found (`None` when intact). Needs `Global/BackupRBAC`.
            ///
            /// >>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast")
            /// >>> client.create_role("reader")
            /// >>> check = client.verify_audit()
            /// >>> check["intact"], check["records"], check["problem"]
            /// (True, 2, None)
            verify_audit => VerifyAudit {
                rpc: none,
                available: Always,
                needs: Global "BackupRBAC" on any,
                rest: none,
                python: [] [timeout] []
                    "($self, timeout=None, **kwargs)",
                args: { timeout: Timeout },
                returns: AuditCheck,
            }
        }
    };
}
pub(crate) use for_each_operation;
