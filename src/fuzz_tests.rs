//! Property-based fuzzing (proptest) of the validators and of random operation sequences on a registry.
//!
//! The validators must never panic, whatever the string (multi-byte characters where a byte is expected,
//! megabytes of text), and must refuse with their Milvus code. Random operation sequences on an in-memory
//! registry must never panic, fail only with known codes, and leave the registry consistent: lists sorted and
//! unique, root, admin and public present, limits respected, memberships only between existing users and roles,
//! a backup that restores to the same registry.
//!
//! Case counts are small by default so that `cargo test` stays quick; `PROPTEST_CASES=10000 cargo test
//! fuzz_tests` runs longer.

use proptest::prelude::*;
use proptest::test_runner::Config;

use crate::password::HashStrength;
use crate::profile::{Profile, ProfileName, DOCS, MILVUS_24, MILVUS_25, MILVUS_26};
use crate::registry::{Caller, Credentials, GroupChange, Operation, Registry};
use crate::settings::RegistryOptions;
use crate::store::Location;
use crate::validate;
use crate::RbacError;

const PROFILES: [&Profile; 4] = [&DOCS, &MILVUS_24, &MILVUS_25, &MILVUS_26];

/// `default` cases unless `PROPTEST_CASES` asks for another number.
fn cases(default: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default);
    Config {
        cases,
        // Sequences are long; a failure is shrunk, but not forever.
        max_shrink_iters: 2_000,
        ..Config::default()
    }
}

/// Strings that stress byte-oriented code: multi-byte characters in first, middle and last position, control
/// characters, white space of every kind, and plain ASCII.
fn tricky_text() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("a".to_string()),
        Just("Z".to_string()),
        Just("_".to_string()),
        Just("$".to_string()),
        Just("9".to_string()),
        Just(" ".to_string()),
        Just("\t".to_string()),
        Just("\u{a0}".to_string()),
        Just("\u{3000}".to_string()),
        Just("é".to_string()),
        Just("用".to_string()),
        Just("😀".to_string()),
        Just("\u{0}".to_string()),
        Just("\u{7f}".to_string()),
        Just("\u{200b}".to_string()),
        Just("\u{feff}".to_string()),
        "\\PC".prop_map(|s: String| s),
    ];
    prop_oneof![
        any::<String>(),
        prop::collection::vec(pieces, 0..40).prop_map(|p| p.concat()),
    ]
}

/// A few hundred kilobytes to a few megabytes, of one or several characters.
fn huge_text() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("a"), Just("é"), Just("用"), Just("😀"), Just("A1_")],
        100_000usize..2_000_000,
        prop_oneof![Just(""), Just("é"), Just("$"), Just(" ")],
    )
        .prop_map(|(unit, bytes, tail)| {
            let mut text = unit.repeat(bytes / unit.len());
            text.push_str(tail);
            text
        })
}

/// A validator's verdict: accepted, or refused with one of `codes` and a message.
fn assert_refusal_coded(result: crate::Result<()>, codes: &[i32]) -> Result<(), TestCaseError> {
    if let Err(err) = result {
        prop_assert!(
            codes.contains(&err.code()),
            "code {} not in {codes:?}: {err}",
            err.code()
        );
        prop_assert!(!err.to_string().is_empty());
    }
    Ok(())
}

fn check_every_validator(text: &str) -> Result<(), TestCaseError> {
    for profile in PROFILES {
        assert_refusal_coded(validate::username(&profile.username, text), &[1100])?;
        assert_refusal_coded(
            validate::name(&profile.role_name, text, "role name"),
            &[1100],
        )?;
        assert_refusal_coded(
            validate::name(&profile.object_names, text, "Privilege"),
            &[1100],
        )?;
        assert_refusal_coded(validate::password(&profile.password, text), &[1100])?;
        // Milvus 2.4's bcrypt limit is a coordinator error (65535) after validation.
        assert_refusal_coded(
            validate::password_hashable(&profile.password, text),
            &[65535],
        )?;
    }
    assert_refusal_coded(validate::privilege_group_name(text), &[1100, 1402])?;
    assert_refusal_coded(validate::database_name(text), &[802])?;
    assert_refusal_coded(validate::description("user", text), &[1100])?;
    Ok(())
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn validators_never_panic_and_refuse_with_their_codes(text in tricky_text()) {
        check_every_validator(&text)?;
    }

    /// A password is never repeated in the error that refuses it.
    #[test]
    fn password_errors_never_show_the_password(body in tricky_text()) {
        let password = format!("Zq9#{body}");
        for profile in PROFILES {
            if let Err(err) = validate::password(&profile.password, &password) {
                prop_assert!(!err.to_string().contains(&password), "{err}");
            }
        }
    }

    /// What the facts say every server accepts is accepted by every server profile.
    #[test]
    fn names_of_the_server_rules_are_accepted(
        user in "[A-Za-z][A-Za-z0-9_]{0,31}",
        role in "[A-Za-z_][A-Za-z0-9_$]{0,254}",
    ) {
        for profile in [&MILVUS_24, &MILVUS_25, &MILVUS_26] {
            prop_assert!(validate::username(&profile.username, &user).is_ok(), "{user}");
            prop_assert!(validate::name(&profile.role_name, &role, "role name").is_ok(), "{role}");
        }
    }
}

proptest! {
    #![proptest_config(cases(6))]

    #[test]
    fn validators_handle_megabytes(text in huge_text()) {
        check_every_validator(&text)?;
        // Nothing that long is a valid name or password anywhere.
        for profile in PROFILES {
            prop_assert!(validate::username(&profile.username, &text).is_err());
            prop_assert!(validate::password(&profile.password, &text).is_err());
            prop_assert!(validate::name(&profile.role_name, &text, "role name").is_err());
        }
    }
}

// Random operation sequences

const MAX_USERS: u64 = 6;
const MAX_ROLES: u64 = 6;

/// A name: usually one of a few (so that operations meet each other), sometimes anything.
fn name(pool: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(pool).prop_map(str::to_string),
        1 => tricky_text(),
    ]
}

fn user() -> impl Strategy<Value = String> {
    name(&["root", "u1", "u2", "u3", "u_4", " u1", "U1", "admin", ""])
}

fn role() -> impl Strategy<Value = String> {
    name(&["admin", "public", "r1", "r2", "r3", "_r$4", "R1", " r1", ""])
}

fn group() -> impl Strategy<Value = String> {
    name(&[
        "g1",
        "g2",
        "_g3",
        "ClusterReadOnly",
        "ReadOnly",
        "Query",
        "",
    ])
}

fn password() -> impl Strategy<Value = String> {
    name(&["P@ssw0rd", "NewP@ssw0rd1", "abcdef", "Milvus", "x", ""])
}

fn privilege() -> impl Strategy<Value = String> {
    name(&[
        "Load",
        "Insert",
        "Search",
        "Query",
        "Flush",
        "All",
        "*",
        "CreateOwnership",
        "SelectOwnership",
        "UpdateUser",
        "SelectUser",
        "ClusterReadOnly",
        "DatabaseAdmin",
        "CollectionReadWrite",
        "ReadOnly",
        "Admin",
        "g1",
        "g2",
        "Bogus",
    ])
}

fn object_type() -> impl Strategy<Value = String> {
    name(&["Global", "Collection", "User", "global", "Bogus"])
}

fn object() -> impl Strategy<Value = String> {
    name(&["*", "c1", "c2", "u1", ""])
}

fn database() -> impl Strategy<Value = String> {
    name(&["", "default", "*", "db1", "1db"])
}

#[derive(Debug, Clone)]
enum Op {
    CreateUser(String, String),
    DropUser(String),
    UpdatePassword(String, String, String),
    UpdateUser(String, String),
    CreateRole(String),
    AlterRole(String, String),
    DropRole(String, bool),
    GrantRole(String, String),
    RevokeRole(String, String),
    GrantV1(Operation, String, String, String, String, String),
    GrantV2(Operation, String, String, String, String),
    CreateGroup(String),
    DropGroup(String),
    ChangeGroup(GroupChange, String, Vec<String>),
    DescribeUser(String),
    DescribeRole(String, String),
    Explain(String, String, String, String, String),
    BackupAndRestore,
}

fn operation() -> impl Strategy<Value = Operation> {
    prop_oneof![Just(Operation::Grant), Just(Operation::Revoke)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (user(), password()).prop_map(|(u, p)| Op::CreateUser(u, p)),
        2 => user().prop_map(Op::DropUser),
        2 => (user(), password(), password()).prop_map(|(u, o, n)| Op::UpdatePassword(u, o, n)),
        1 => (user(), tricky_text()).prop_map(|(u, d)| Op::UpdateUser(u, d)),
        4 => role().prop_map(Op::CreateRole),
        1 => (role(), tricky_text()).prop_map(|(r, d)| Op::AlterRole(r, d)),
        2 => (role(), any::<bool>()).prop_map(|(r, f)| Op::DropRole(r, f)),
        4 => (user(), role()).prop_map(|(u, r)| Op::GrantRole(u, r)),
        2 => (user(), role()).prop_map(|(u, r)| Op::RevokeRole(u, r)),
        4 => (operation(), role(), object_type(), privilege(), object(), database())
            .prop_map(|(o, r, t, p, n, d)| Op::GrantV1(o, r, t, p, n, d)),
        3 => (operation(), role(), privilege(), object(), database())
            .prop_map(|(o, r, p, c, d)| Op::GrantV2(o, r, p, c, d)),
        2 => group().prop_map(Op::CreateGroup),
        1 => group().prop_map(Op::DropGroup),
        2 => (
            prop_oneof![Just(GroupChange::Add), Just(GroupChange::Remove)],
            group(),
            prop::collection::vec(privilege(), 0..4),
        )
            .prop_map(|(c, g, p)| Op::ChangeGroup(c, g, p)),
        1 => user().prop_map(Op::DescribeUser),
        1 => (role(), database()).prop_map(|(r, d)| Op::DescribeRole(r, d)),
        1 => (user(), privilege(), object_type(), object(), database())
            .prop_map(|(u, p, t, n, d)| Op::Explain(u, p, t, n, d)),
        1 => Just(Op::BackupAndRestore),
    ]
}

fn open(profile: ProfileName) -> (Registry, Caller) {
    let options = RegistryOptions {
        profile: Some(profile),
        password_hash: Some(HashStrength::Fast),
        max_users: Some(Some(MAX_USERS)),
        max_roles: Some(Some(MAX_ROLES)),
        ..RegistryOptions::default()
    };
    let registry = Registry::open(Location::Memory, &options).expect("an in-memory registry opens");
    let root = registry
        .authenticate(&Credentials::parse("", "", "root:Milvus"), "")
        .expect("root logs in");
    (registry, root)
}

/// The codes an operation may fail with: 1 (argument), 2 (a changed root password), 802, 1100, 1400-1402,
/// 65535.
const KNOWN_CODES: [i32; 8] = [1, 2, 802, 1100, 1400, 1401, 1402, 65535];

fn apply(registry: &Registry, root: &Caller, op: &Op) -> crate::Result<()> {
    match op {
        Op::CreateUser(u, p) => registry.create_user(root, u, p, None),
        Op::DropUser(u) => registry.drop_user(root, u),
        // The old password is root's own only for root: root is not a super user here.
        Op::UpdatePassword(u, o, n) if u != "root" => registry.update_password(root, u, o, n, None),
        Op::UpdatePassword(..) => Ok(()),
        Op::UpdateUser(u, d) => registry.update_user(root, u, d),
        Op::CreateRole(r) => registry.create_role(root, r, None),
        Op::AlterRole(r, d) => registry.alter_role(root, r, d),
        Op::DropRole(r, force) => registry.drop_role(root, r, *force),
        Op::GrantRole(u, r) => registry.grant_role(root, u, r),
        Op::RevokeRole(u, r) => registry.revoke_role(root, u, r),
        Op::GrantV1(o, r, t, p, n, d) => registry.operate_privilege(root, *o, r, t, p, n, d),
        Op::GrantV2(o, r, p, c, d) => registry.operate_privilege_v2(root, *o, r, p, c, d),
        Op::CreateGroup(g) => registry.create_privilege_group(root, g),
        Op::DropGroup(g) => registry.drop_privilege_group(root, g),
        Op::ChangeGroup(c, g, p) => registry.change_privilege_group(root, *c, g, p),
        Op::DescribeUser(u) => registry.describe_user(root, u).map(drop),
        Op::DescribeRole(r, d) => registry.describe_role(root, r, d).map(drop),
        Op::Explain(u, p, t, n, d) => registry.explain_privilege(root, u, p, t, n, d).map(drop),
        Op::BackupAndRestore => Ok(()),
    }
}

fn strictly_sorted<S: AsRef<str>>(names: &[S]) -> bool {
    names
        .windows(2)
        .all(|pair| pair[0].as_ref() < pair[1].as_ref())
}

/// What `describe_user` shows of every user, for comparing two registries.
fn memberships(registry: &Registry, root: &Caller) -> Vec<(String, Vec<String>)> {
    let users = registry.list_users(root).unwrap_or_default();
    users
        .iter()
        .map(|user| {
            let roles = registry
                .describe_user(root, user)
                .ok()
                .flatten()
                .map(|d| d.roles)
                .unwrap_or_default();
            (user.to_string(), roles)
        })
        .collect()
}

fn check_invariants(registry: &Registry, root: &Caller) -> Result<(), TestCaseError> {
    let users = registry.list_users(root).map_err(fail)?;
    let roles = registry.list_roles(root).map_err(fail)?;
    prop_assert!(
        strictly_sorted(&users.iter().collect::<Vec<_>>()),
        "users not sorted and unique: {users:?}"
    );
    prop_assert!(
        strictly_sorted(&roles.iter().collect::<Vec<_>>()),
        "roles not sorted and unique: {roles:?}"
    );
    prop_assert!(users.contains("root"), "root is gone: {users:?}");
    for builtin in ["admin", "public"] {
        prop_assert!(roles.contains(builtin), "{builtin} is gone");
    }
    prop_assert!(users.len() as u64 <= MAX_USERS, "{} users", users.len());
    prop_assert!(roles.len() as u64 <= MAX_ROLES, "{} roles", roles.len());
    for user in users.iter() {
        // A stored name may be one the validator refuses now (2.4/2.5 store names untrimmed); describe
        // what describes.
        if let Ok(Some(description)) = registry.describe_user(root, user) {
            prop_assert!(strictly_sorted(&description.roles));
            for held in &description.roles {
                prop_assert!(roles.contains(held), "{user} holds missing role {held}");
            }
        }
    }
    for role in roles.iter() {
        if let Ok(description) = registry.describe_role(root, role, "*") {
            prop_assert!(description.grants.iter().all(|g| g.role_name == role));
        }
    }
    if registry.profile().catalog.has_groups() {
        let groups = registry.list_privilege_groups(root).map_err(fail)?;
        let mut names: Vec<&String> = groups.iter().map(|g| &g.name).collect();
        names.dedup();
        prop_assert_eq!(names.len(), groups.len(), "duplicate groups");
    }
    Ok(())
}

fn fail(err: RbacError) -> TestCaseError {
    TestCaseError::fail(format!("a read failed: {err} (code {})", err.code()))
}

fn check_backup_round_trip(
    registry: &Registry,
    root: &Caller,
    profile: ProfileName,
) -> Result<(), TestCaseError> {
    let backup = registry.backup_rbac(root).map_err(fail)?;
    let (copy, copy_root) = open(profile);
    // The copy is new: its users and roles are root, admin and public, which a backup never holds.
    if let Err(err) = copy.restore_rbac(&copy_root, &backup) {
        // Milvus 2.6 refuses an empty backup; nothing else may fail.
        prop_assert!(
            backup.users.is_empty() && backup.roles.is_empty(),
            "restore failed: {err}"
        );
        return Ok(());
    }
    prop_assert_eq!(
        copy.list_roles(&copy_root).map_err(fail)?,
        registry.list_roles(root).map_err(fail)?
    );
    // Backups leave root out (as Milvus's BackupRBAC does), and with it root's roles.
    let without_root = |all: Vec<(String, Vec<String>)>| -> Vec<(String, Vec<String>)> {
        all.into_iter().filter(|(user, _)| user != "root").collect()
    };
    prop_assert_eq!(
        without_root(memberships(&copy, &copy_root)),
        without_root(memberships(registry, root))
    );
    Ok(())
}

fn run_sequence(profile: ProfileName, ops: &[Op]) -> Result<(), TestCaseError> {
    let (registry, root) = open(profile);
    for op in ops {
        if let Op::BackupAndRestore = op {
            check_backup_round_trip(&registry, &root, profile)?;
            continue;
        }
        let before = registry.list_users(&root).map_err(fail)?;
        match apply(&registry, &root, op) {
            Ok(()) => {
                if let Op::CreateUser(name, _) = op {
                    // A new user starts with no roles: nothing was left behind by an earlier user of that name.
                    let stored = registry.list_users(&root).map_err(fail)?;
                    let created: Vec<&str> =
                        stored.iter().filter(|u| !before.contains(u)).collect();
                    prop_assert_eq!(created.len(), 1, "{:?} created {:?}", name, created);
                    if let Ok(Some(d)) = registry.describe_user(&root, created[0]) {
                        prop_assert!(d.roles.is_empty(), "a new user holds {:?}", d.roles);
                    }
                }
                if let Op::DropRole(role, _) = op {
                    for (user, roles) in memberships(&registry, &root) {
                        prop_assert!(!roles.contains(role), "{user} still holds dropped {role}");
                    }
                }
            }
            Err(err) => {
                prop_assert!(
                    KNOWN_CODES.contains(&err.code()),
                    "{op:?}: code {}: {err}",
                    err.code()
                );
                prop_assert!(!err.to_string().is_empty(), "{op:?}: an empty message");
                prop_assert!(
                    !matches!(err, RbacError::Storage { .. }),
                    "{op:?}: a storage error: {err}"
                );
            }
        }
        check_invariants(&registry, &root)?;
    }
    check_backup_round_trip(&registry, &root, profile)
}

fn profile_name() -> impl Strategy<Value = ProfileName> {
    prop::sample::select(ProfileName::ALL.to_vec())
}

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    fn random_operation_sequences_keep_the_registry_consistent(
        profile in profile_name(),
        ops in prop::collection::vec(op(), 1..40),
    ) {
        run_sequence(profile, &ops)?;
    }
}
