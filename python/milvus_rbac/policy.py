"""Milvus access control as code: a YAML policy file, planned against and applied to any registry.

A policy declares custom privilege groups, roles (descriptions, grants) and users (descriptions, roles); see
``policy.schema.json`` beside this module and the README. :func:`load` reads and checks one, :func:`plan`
compares it with a registry's live state, :func:`apply` makes the changes in a safe order, :func:`export`
writes a registry's state as a policy, and a plan with no steps means no drift.

>>> from milvus_rbac import MilvusClient, policy
>>> rules = policy.loads('''
... roles:
...   reader:
...     grants:
...       - {privilege: Search, collection: books}
... ''')
>>> client = MilvusClient(":memory:", token="root:Milvus", password_hash="fast", profile="milvus-2.5")
>>> print(policy.plan(client, rules))
+ create_role reader
+ grant Search on Collection books in default to reader
>>> policy.apply(client, policy.plan(client, rules))
>>> policy.plan(client, rules).steps
[]

Grants are compared as the registry stores them: each policy is first applied to a scratch in-memory registry of
its profile, which checks it with Milvus's own rules (an unknown privilege, a group mixing levels) and gives its
grants the registry's form, whichever of Milvus's two grant forms the file uses.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Set, Tuple

import yaml

from milvus_rbac._core import PROFILES_WITH_DESCRIPTIONS, MilvusClient
from milvus_rbac.exceptions import MilvusException

__all__ = ["Policy", "PolicyError", "Plan", "Step", "ApplyError", "Expectation", "load", "loads", "plan", "apply",
           "export", "test", "assert_expectations", "describe_failure", "explain_live"]

#: Never dropped, whatever a policy says.
BUILT_IN_USERS = frozenset({"root"})
BUILT_IN_ROLES = frozenset({"admin", "public"})
#: The profile a policy is checked against when it names none.
DEFAULT_PROFILE = "milvus-2.6"

# (object type, object name, database, privilege), as the registry stores a grant.
GrantKey = Tuple[str, str, str, str]


class PolicyError(ValueError):
    """A policy that cannot be used: the message names the file, line and column, and the rule broken."""


@dataclasses.dataclass(frozen=True)
class Where:
    """Where in a policy file something was written."""

    source: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}"


@dataclasses.dataclass
class UserSpec:
    """A user as the policy file declares it: its description and roles (with their places), and where its
    password comes from when it has to be created."""

    description: Optional[str]
    roles: List[Tuple[str, Where]]
    password_env: Optional[str]
    password_file: Optional[str]
    where: Where


@dataclasses.dataclass
class RoleSpec:
    """A role as the policy file declares it, before its grants are put in the registry's form."""

    description: Optional[str]
    # (how to grant: the keyword arguments of grant_privilege or grant_privilege_v2, which one, where)
    grants: List[Tuple[Dict[str, str], bool, Where]]
    where: Where


@dataclasses.dataclass(frozen=True)
class Expectation:
    """What a user (or any holder of a role) may or may not do, written beside the policy: ``{user: user_1, may:
    Search, collection: books}``, ``{role: reader, may_not: DropCollection, object_type: Global}``."""

    user: Optional[str]
    role: Optional[str]
    allowed: bool
    privilege: str
    object_type: str
    object_name: str
    db_name: str
    where: Where

    def __str__(self) -> str:
        who = self.user if self.user is not None else f"a holder of role {self.role}"
        verb = "may" if self.allowed else "may not"
        return f"{who} {verb} {self.privilege} on {self.object_type} {self.object_name} in {self.db_name}"


@dataclasses.dataclass
class Policy:
    """A loaded, checked policy: its groups, roles and users in registry form (see :func:`load`)."""

    source: str
    profile: str
    groups: Dict[str, FrozenSet[str]]
    roles: Dict[str, Tuple[Optional[str], FrozenSet[GrantKey]]]
    users: Dict[str, UserSpec]
    #: Every privilege group the profile knows, built-in and the policy's: grants of these go through
    #: grant_privilege_v2, as Milvus takes groups only there.
    group_names: FrozenSet[str] = frozenset()
    #: The file's ``expectations``, checked by :func:`test`.
    expectations: List[Expectation] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Step:
    """One call of a plan: the client method, its keyword arguments, and how to show it."""

    method: str
    args: Dict[str, Any]
    text: str
    sign: str  # "+" adds, "-" removes, "~" changes

    def __str__(self) -> str:
        return f"{self.sign} {self.text}"

    def to_json(self) -> Dict[str, Any]:
        """The step as JSON (``policy plan --json``), its password hidden."""
        shown = {name: ("***" if name == "password" else value) for name, value in self.args.items()}
        return {"method": self.method, "args": shown, "change": self.text}


@dataclasses.dataclass
class Plan:
    """The calls that make a registry hold what a policy says, in the order they run."""

    steps: List[Step]

    def __str__(self) -> str:
        return "\n".join(str(step) for step in self.steps) if self.steps else "no changes"

    def to_json(self) -> List[Dict[str, Any]]:
        """The plan as JSON: its steps' :meth:`Step.to_json`, in order."""
        return [step.to_json() for step in self.steps]

    def _repr_html_(self) -> str:
        """The plan as Jupyter shows it: one coloured line per step (green adds, red removes, amber changes)."""
        import html

        if not self.steps:
            return "<p>No changes.</p>"
        colours = {"+": "#1a7f37", "-": "#cf222e", "~": "#9a6700"}
        rows = "".join(
            f'<div style="color:{colours[step.sign]};font-family:monospace">{html.escape(str(step))}</div>'
            for step in self.steps
        )
        return f"<div>{rows}</div>"


class ApplyError(MilvusException):
    """A step of a plan failed: ``done`` ran, ``failed`` did not, and nothing after it was tried."""

    def __init__(self, done: List[Step], failed: Step, error: MilvusException) -> None:
        message = (
            f"{failed} failed after {len(done)} of the plan's steps ran: {error.message} "
            f"(done: {'; '.join(str(step) for step in done) or 'nothing'})"
        )
        super().__init__(code=error.code, message=message)
        self.done = done
        self.failed = failed


# --- reading a policy file -----------------------------------------------------------------------------------


def load(path: str) -> Policy:
    """Read and check the policy file at ``path``."""
    with open(path, encoding="utf-8") as file:
        return loads(file.read(), source=path)


def loads(text: str, source: str = "<policy>") -> Policy:
    """Read and check a policy from its YAML ``text``; ``source`` names it in errors."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise PolicyError(f"{where}: not YAML: {getattr(error, 'problem', error)}") from None
    except RecursionError:
        # PyYAML composes nested collections recursively; a policy nests four levels at most.
        raise PolicyError(f"{source}: nested too deeply to be a policy") from None
    reader = _Reader(source)
    if root is None:
        root = yaml.MappingNode("tag:yaml.org,2002:map", [])
    top = reader.mapping(root, {"profile", "privilege_groups", "roles", "users", "expectations"}, "a policy")
    profile = reader.text(top["profile"], "profile") if "profile" in top else DEFAULT_PROFILE
    group_nodes = reader.mapping(top["privilege_groups"], None, "privilege_groups") if "privilege_groups" in top else {}
    role_nodes = reader.mapping(top["roles"], None, "roles") if "roles" in top else {}
    user_nodes = reader.mapping(top["users"], None, "users") if "users" in top else {}
    groups = {name: [(reader.text(p, "a privilege"), reader.where(p)) for p in reader.sequence(node, name)]
              for name, node in group_nodes.items()}
    roles = {name: reader.role(name, node) for name, node in role_nodes.items()}
    users = {name: reader.user(name, node) for name, node in user_nodes.items()}
    for name, spec in users.items():
        for role, where in spec.roles:
            if role not in roles and role not in BUILT_IN_ROLES:
                raise PolicyError(f"{where}: user {name} is granted role {role}, which the policy does not declare")
    expectations = [reader.expectation(node) for node in
                    (reader.sequence(top["expectations"], "expectations") if "expectations" in top else [])]
    for expectation in expectations:
        if expectation.user is not None and expectation.user not in users and expectation.user != "root":
            raise PolicyError(f"{expectation.where}: an expectation of user {expectation.user}, which the policy "
                              "does not declare")
        if expectation.role is not None and expectation.role not in roles and expectation.role not in BUILT_IN_ROLES:
            raise PolicyError(f"{expectation.where}: an expectation of role {expectation.role}, which the policy "
                              "does not declare")
    checked = _checked(source, profile, groups, roles, users, {n: reader.where(node) for n, node in group_nodes.items()})
    checked.expectations = expectations
    return checked


class _Reader:
    """The YAML nodes of a policy, with their places."""

    def __init__(self, source: str) -> None:
        self.source = source

    def where(self, node: yaml.Node) -> Where:
        return Where(self.source, node.start_mark.line + 1, node.start_mark.column + 1)

    def fail(self, node: yaml.Node, message: str) -> PolicyError:
        return PolicyError(f"{self.where(node)}: {message}")

    def mapping(self, node: yaml.Node, keys: Optional[Set[str]], what: str) -> Dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        found: Dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = self.text(key, "a name")
            if keys is not None and name not in keys:
                raise self.fail(key, f"unknown key {name!r} in {what}; the keys are {', '.join(sorted(keys))}")
            if name in found:
                raise self.fail(key, f"{name!r} is given twice in {what}")
            found[name] = value
        return found

    def sequence(self, node: yaml.Node, what: str) -> List[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return list(node.value)

    def text(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag not in ("tag:yaml.org,2002:str", "tag:yaml.org,2002:int"):
            raise self.fail(node, f"{what} must be text")
        return str(node.value)

    def role(self, name: str, node: yaml.Node) -> RoleSpec:
        fields = self.mapping(node, {"description", "grants"}, f"role {name}")
        grants = []
        for grant in self.sequence(fields["grants"], f"role {name}'s grants") if "grants" in fields else []:
            entry = {key: self.text(value, key) for key, value in self.mapping(
                grant, {"privilege", "collection", "database", "object_type", "object"}, "a grant").items()}
            if "privilege" not in entry:
                raise self.fail(grant, "a grant needs a privilege")
            if "object_type" in entry:
                if "collection" in entry:
                    raise self.fail(grant, "a grant takes object_type with object, or collection, not both")
                args = {"role_name": name, "object_type": entry["object_type"], "privilege": entry["privilege"],
                        "object_name": entry.get("object", "*"), "db_name": entry.get("database", "default")}
                grants.append((args, False, self.where(grant)))
            else:
                if "object" in entry:
                    raise self.fail(grant, "object goes with object_type; use collection without it")
                args = {"role_name": name, "privilege": entry["privilege"],
                        "collection_name": entry.get("collection", "*"), "db_name": entry.get("database", "default")}
                grants.append((args, True, self.where(grant)))
        description = self.text(fields["description"], "a description") if "description" in fields else None
        return RoleSpec(description, grants, self.where(node))

    def expectation(self, node: yaml.Node) -> Expectation:
        keys = {"user", "role", "may", "may_not", "object_type", "object", "collection", "database"}
        entry = {key: self.text(value, key) for key, value in self.mapping(node, keys, "an expectation").items()}
        if ("user" in entry) == ("role" in entry):
            raise self.fail(node, "an expectation names a user or a role")
        if ("may" in entry) == ("may_not" in entry):
            raise self.fail(node, "an expectation says may or may_not")
        if "collection" in entry and ("object_type" in entry or "object" in entry):
            raise self.fail(node, "an expectation takes collection, or object_type with object")
        object_type = "Collection" if "collection" in entry else entry.get("object_type", "Global")
        return Expectation(
            user=entry.get("user"), role=entry.get("role"), allowed="may" in entry,
            privilege=entry.get("may", entry.get("may_not", "")), object_type=object_type,
            object_name=entry.get("collection", entry.get("object", "*")), db_name=entry.get("database", "default"),
            where=self.where(node),
        )

    def user(self, name: str, node: yaml.Node) -> UserSpec:
        fields = self.mapping(node, {"description", "roles", "password_env", "password_file"}, f"user {name}")
        roles = [(self.text(role, "a role"), self.where(role))
                 for role in (self.sequence(fields["roles"], f"user {name}'s roles") if "roles" in fields else [])]
        description = self.text(fields["description"], "a description") if "description" in fields else None
        if "password_env" in fields and "password_file" in fields:
            raise self.fail(node, f"user {name} takes password_env or password_file, not both")
        env = self.text(fields["password_env"], "password_env") if "password_env" in fields else None
        file = self.text(fields["password_file"], "password_file") if "password_file" in fields else None
        return UserSpec(description, roles, env, file, self.where(node))


def _checked(source: str, profile: str, groups: Dict[str, List[Tuple[str, Where]]], roles: Dict[str, RoleSpec],
             users: Dict[str, UserSpec], group_places: Dict[str, Where]) -> Policy:
    """Apply the policy to a scratch registry of its profile: Milvus's rules check it, and its grants come back in
    the registry's form."""
    try:
        scratch = MilvusClient(":memory:", token="root:Milvus", password_hash="fast", profile=profile,
                               max_users=None, max_roles=None)
    except MilvusException as error:
        raise PolicyError(f"{source}: profile: {error.message}") from None

    def checked(where: Where, what: str, call: Callable[[], Any]) -> None:
        try:
            call()
        except MilvusException as error:
            raise PolicyError(f"{where}: {what}: {error.message}") from None

    with scratch:
        for name, privileges in groups.items():
            checked(group_places[name], f"privilege group {name}", lambda: scratch.create_privilege_group(name))
            for privilege, where in privileges:
                checked(where, f"privilege group {name}",
                        lambda: scratch.add_privileges_to_group(name, [privilege]))
        for name, spec in roles.items():
            if name not in BUILT_IN_ROLES:
                checked(spec.where, f"role {name}", lambda: scratch.create_role(name))
            if spec.description is not None:
                checked(spec.where, f"role {name}'s description",
                        lambda: scratch.alter_role(name, description=spec.description))
            for args, v2, where in spec.grants:
                method = scratch.grant_privilege_v2 if v2 else scratch.grant_privilege
                checked(where, f"a grant to role {name}", lambda: method(**args))
        state = _state(scratch)
        group_names = _group_names(scratch)
    for name, spec in users.items():
        if spec.description is not None and not _has_descriptions(profile):
            raise PolicyError(f"{spec.where}: user {name}'s description: profile {profile} has no user descriptions")
    return Policy(
        source=source,
        profile=profile,
        groups={name: state.groups.get(name, frozenset()) for name in groups},
        roles={name: (roles[name].description, state.grants.get(name, frozenset())) for name in roles},
        users=users,
        group_names=group_names,
    )


def _group_names(client: MilvusClient) -> FrozenSet[str]:
    """Every privilege group the registry knows (none before Milvus 2.5)."""
    try:
        return frozenset(group["privilege_group"] for group in client.list_privilege_groups())
    except MilvusException:
        return frozenset()


def _has_descriptions(profile: str) -> bool:
    return profile in PROFILES_WITH_DESCRIPTIONS


# --- a registry's state --------------------------------------------------------------------------------------


@dataclasses.dataclass
class _State:
    groups: Dict[str, FrozenSet[str]]
    roles: Dict[str, str]
    grants: Dict[str, FrozenSet[GrantKey]]
    users: Dict[str, Tuple[str, FrozenSet[str]]]


def _state(client: MilvusClient) -> _State:
    """What the registry holds: from ``backup_rbac`` where the registry has it (every database), else from the
    describe calls (a server older than Milvus 2.4: the client's database only)."""
    try:
        backup = client.backup_rbac()
    except MilvusException:
        return _described_state(client)
    grants: Dict[str, Set[GrantKey]] = {}
    for grant in backup["grants"]:
        grants.setdefault(grant["role_name"], set()).add(
            (grant["object_type"], grant["object_name"], grant["db_name"], grant["privilege"]))
    roles = {role["role_name"]: role.get("description", "") for role in backup["roles"]}
    for name in BUILT_IN_ROLES:
        roles.setdefault(name, "")
    for name in BUILT_IN_ROLES:
        grants[name] = grants.get(name, set()) | _grants_of(client, name)
    # Milvus's backup message has no user descriptions (a server's backup answers none): asked for one by one.
    users = {user["user_name"]: (user.get("description") or client.describe_user(user["user_name"]).get(
        "description", ""), frozenset(user.get("roles", ()))) for user in backup["users"]}
    if "root" not in users:
        root = client.describe_user("root")
        users["root"] = (root.get("description", ""), frozenset(root.get("roles", ())))
    groups = {group["privilege_group"]: frozenset(group["privileges"]) for group in backup["privilege_groups"]}
    return _State(groups, roles, {name: frozenset(held) for name, held in grants.items()}, users)


def _grants_of(client: MilvusClient, role: str) -> Set[GrantKey]:
    return {(g["object_type"], g["object_name"], g["db_name"], g["privilege"])
            for g in client.describe_role(role)["privileges"]}


def _described_state(client: MilvusClient) -> _State:
    roles = {name: "" for name in client.list_roles()}
    grants = {name: frozenset(_grants_of(client, name)) for name in roles}
    users = {}
    for name in client.list_users():
        user = client.describe_user(name)
        users[name] = (user.get("description", ""), frozenset(user.get("roles", ())))
    return _State({}, roles, grants, users)


# --- planning and applying -----------------------------------------------------------------------------------


def _grant_step(grant: bool, role: str, key: GrantKey, groups: FrozenSet[str]) -> Step:
    """Grant or revoke one grant: a privilege group through Milvus's v2 calls (the only ones that take groups),
    a privilege through the object-type calls (which every Milvus line has)."""
    object_type, object_name, db_name, privilege = key
    verb = "grant" if grant else "revoke"
    text = f"{verb} {_grant_text(key)} {'to' if grant else 'from'} {role}"
    if privilege in groups:
        args: Dict[str, Any] = {"role_name": role, "privilege": privilege, "collection_name": object_name,
                                "db_name": db_name}
        return Step(f"{verb}_privilege_v2", args, text, "+" if grant else "-")
    args = {"role_name": role, "object_type": object_type, "privilege": privilege, "object_name": object_name,
            "db_name": db_name}
    return Step(f"{verb}_privilege", args, text, "+" if grant else "-")


def _grant_text(key: GrantKey) -> str:
    object_type, object_name, db_name, privilege = key
    return f"{privilege} on {object_type} {object_name} in {db_name}"


def _password(name: str, spec: UserSpec) -> str:
    if spec.password_env:
        value = os.environ.get(spec.password_env)
        if value is None:
            raise PolicyError(f"{spec.where}: user {name}'s password: ${spec.password_env} is not set")
        return value
    if spec.password_file:
        path = spec.password_file
        if not os.path.isabs(path) and spec.where.source not in ("<policy>",):
            path = os.path.join(os.path.dirname(os.path.abspath(spec.where.source)), path)
        try:
            with open(path, encoding="utf-8") as file:
                return file.readline().rstrip("\r\n")
        except OSError as error:
            raise PolicyError(f"{spec.where}: user {name}'s password file {path}: {error.strerror}") from None
    raise PolicyError(f"{spec.where}: user {name} does not exist, and the policy gives no password_env or "
                      "password_file to create it with")


def plan(client: MilvusClient, policy: Policy, prune: bool = False) -> Plan:
    """The calls that make ``client``'s registry hold what ``policy`` says, in a safe order: groups and roles
    before the grants that name them, users before their roles; then (only with ``prune``) revokes before drops.
    Nothing the policy does not mention is removed unless ``prune``, and never ``root``, ``admin`` or
    ``public``."""
    return _plan(client, policy, prune, _password)


def _plan(client: MilvusClient, policy: Policy, prune: bool, password_of: Callable[[str, UserSpec], str]) -> Plan:
    live = _state(client)
    groups = policy.group_names | frozenset(live.groups)
    adds: List[Step] = []
    removes: List[Step] = []
    drops: List[Step] = []
    for name, privileges in policy.groups.items():
        held = live.groups.get(name)
        if held is None:
            adds.append(Step("create_privilege_group", {"group_name": name}, f"create_privilege_group {name}", "+"))
            held = frozenset()
        if privileges - held:
            missing = sorted(privileges - held)
            adds.append(Step("add_privileges_to_group", {"group_name": name, "privileges": missing},
                             f"add {', '.join(missing)} to group {name}", "+"))
        if held - privileges:
            extra = sorted(held - privileges)
            removes.append(Step("remove_privileges_from_group", {"group_name": name, "privileges": extra},
                                f"remove {', '.join(extra)} from group {name}", "-"))
    for name, (description, grants) in policy.roles.items():
        if name not in live.roles:
            adds.append(Step("create_role", {"role_name": name}, f"create_role {name}", "+"))
        if description is not None and live.roles.get(name, "") != description:
            adds.append(Step("alter_role", {"role_name": name, "description": description},
                             f"describe role {name} as {description!r}", "~"))
        held = live.grants.get(name, frozenset())
        for key in sorted(grants - held):
            adds.append(_grant_step(True, name, key, groups))
        if prune:
            for key in sorted(held - grants):
                removes.append(_grant_step(False, name, key, groups))
    for name, spec in policy.users.items():
        wanted = frozenset(role for role, _ in spec.roles)
        if name not in live.users:
            args: Dict[str, Any] = {"user_name": name, "password": password_of(name, spec)}
            if spec.description is not None:
                args["description"] = spec.description
            adds.append(Step("create_user", args, f"create_user {name}", "+"))
            held_roles: FrozenSet[str] = frozenset()
        else:
            description, held_roles = live.users[name]
            if spec.description is not None and description != spec.description:
                adds.append(Step("update_user", {"user_name": name, "description": spec.description},
                                 f"describe user {name} as {spec.description!r}", "~"))
        for role in sorted(wanted - held_roles):
            adds.append(Step("grant_role", {"user_name": name, "role_name": role}, f"grant_role {role} to {name}", "+"))
        if prune:
            for role in sorted(held_roles - wanted):
                removes.append(Step("revoke_role", {"user_name": name, "role_name": role},
                                    f"revoke_role {role} from {name}", "-"))
    if prune:
        for name in sorted(set(live.users) - set(policy.users) - BUILT_IN_USERS):
            for role in sorted(live.users[name][1]):
                removes.append(Step("revoke_role", {"user_name": name, "role_name": role},
                                    f"revoke_role {role} from {name}", "-"))
            drops.append(Step("drop_user", {"user_name": name}, f"drop_user {name}", "-"))
        for name in sorted(set(live.roles) - set(policy.roles) - BUILT_IN_ROLES):
            for key in sorted(live.grants.get(name, frozenset())):
                removes.append(_grant_step(False, name, key, groups))
            # Users the policy declares, and those dropped, have their extra roles revoked above; root stays.
            for user in sorted(BUILT_IN_USERS - set(policy.users)):
                if name in live.users.get(user, ("", frozenset()))[1]:
                    removes.append(Step("revoke_role", {"user_name": user, "role_name": name},
                                        f"revoke_role {name} from {user}", "-"))
            drops.append(Step("drop_role", {"role_name": name}, f"drop_role {name}", "-"))
        for name in sorted(set(live.groups) - set(policy.groups)):
            drops.append(Step("drop_privilege_group", {"group_name": name}, f"drop_privilege_group {name}", "-"))
    return Plan(adds + removes + drops)


def apply(client: MilvusClient, changes: Plan) -> None:
    """Run a plan's steps in order; stop at the first failure with an :class:`ApplyError` that says what ran."""
    done: List[Step] = []
    for step in changes.steps:
        try:
            getattr(client, step.method)(**step.args)
        except MilvusException as error:
            raise ApplyError(done, step, error) from error
        done.append(step)


# --- expectations --------------------------------------------------------------------------------------------


#: The password of the users of the registry an expectation check builds (nobody logs in to it).
_CHECK_PASSWORD = "Expectation-check-1"


def test(policy: Policy) -> List[Tuple[Expectation, Dict[str, Any]]]:
    """Check the policy's expectations on an in-memory registry built from it, with ``check_privilege``: each
    one that does not hold, with ``explain_privilege``'s account of the decision. No server is needed."""
    failures = []
    with MilvusClient(":memory:", token="root:Milvus", password_hash="fast", profile=policy.profile,
                      max_users=None, max_roles=None) as built:
        apply(built, _plan(built, policy, False, lambda name, spec: _CHECK_PASSWORD))
        for expectation in policy.expectations:
            user = expectation.user
            if user is None:
                # A fresh user holding only the role stands for any holder of it.
                user = f"expect_{expectation.role}"
                if user not in built.list_users():
                    built.create_user(user, _CHECK_PASSWORD)
                    if expectation.role != "public":
                        built.grant_role(user, expectation.role)
            explanation = built.explain_privilege(user, expectation.privilege, expectation.object_type,
                                                  expectation.object_name, expectation.db_name)
            if bool(explanation["allowed"]) != expectation.allowed:
                failures.append((expectation, explanation))
    return failures


def assert_expectations(path: str) -> None:
    """For a test suite: load the policy at ``path`` and fail (``AssertionError``) with every expectation that
    does not hold, each with its place and ``explain_privilege``'s account.

    >>> assert_expectations  # doctest: +ELLIPSIS
    <function assert_expectations at ...>
    """
    failures = test(load(path))
    if failures:
        raise AssertionError("\n".join(describe_failure(expectation, explanation)
                                        for expectation, explanation in failures))


def describe_failure(expectation: Expectation, explanation: Dict[str, Any]) -> str:
    """One failed expectation, where it is written, and why the registry decided otherwise."""
    decided = "allowed" if explanation["allowed"] else "denied"
    detail = ", ".join(f"{key}={explanation[key]!r}" for key in ("reason", "role", "grant", "group")
                       if explanation.get(key) is not None)
    return f"{expectation.where}: expected: {expectation}; but {decided} ({detail})"


def explain_live(client: MilvusClient, user_name: str, privilege: str, object_type: str = "Global",
                 object_name: str = "*", db_name: str = "default", profile: str = "milvus-2.4") -> Dict[str, Any]:
    """``explain_privilege`` for a registry that cannot answer it (a real Milvus): its users, roles, grants and
    groups are read through the client, copied into an in-memory registry of ``profile``, and the decision is made
    there with milvus-rbac's rules."""
    live = loads(export(client, profile=profile), source=f"the live state of {client!r}")
    with MilvusClient(":memory:", token="root:Milvus", password_hash="fast", profile=profile,
                      max_users=None, max_roles=None) as built:
        apply(built, _plan(built, live, False, lambda name, spec: _CHECK_PASSWORD))
        return built.explain_privilege(user_name, privilege, object_type, object_name, db_name)


# --- exporting -----------------------------------------------------------------------------------------------


def export(client: MilvusClient, profile: Optional[str] = None) -> str:
    """The registry's state as a policy file (YAML). Users are exported without passwords, so the policy only
    requires them to exist; ``plan`` of the export against the same registry has no steps."""
    state = _state(client)
    groups = frozenset(state.groups) | _group_names(client)
    document: Dict[str, Any] = {}
    if profile:
        document["profile"] = profile
    if state.groups:
        document["privilege_groups"] = {name: sorted(privileges) for name, privileges in sorted(state.groups.items())}
    roles: Dict[str, Any] = {}
    for name in sorted(state.roles):
        entry: Dict[str, Any] = {}
        if state.roles[name]:
            entry["description"] = state.roles[name]
        # A privilege group in grant_privilege_v2's form, the only one Milvus takes groups in.
        grants = [{"privilege": p, "collection": o, "database": d} if p in groups
                  else {"object_type": t, "object": o, "database": d, "privilege": p}
                  for t, o, d, p in sorted(state.grants.get(name, frozenset()))]
        if grants:
            entry["grants"] = grants
        roles[name] = entry
    document["roles"] = roles
    users: Dict[str, Any] = {}
    for name in sorted(state.users):
        description, held = state.users[name]
        entry = {}
        if description:
            entry["description"] = description
        if held:
            entry["roles"] = sorted(held)
        users[name] = entry
    document["users"] = users
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def schema() -> Dict[str, Any]:
    """The policy file's JSON Schema (``policy.schema.json``)."""
    with open(os.path.join(os.path.dirname(__file__), "policy.schema.json"), encoding="utf-8") as file:
        loaded: Dict[str, Any] = json.load(file)
    return loaded
