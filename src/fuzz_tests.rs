//! Property-based fuzzing (proptest) of the validators and of random operation sequences on a registry.
//!
//! The validators must never panic, whatever the string (multi-byte characters where a byte is expected,
//! megabytes of text), and must refuse with their Milvus code. Random operation sequences on an in-memory
//! registry must never panic, fail only with known codes, and leave the registry consistent: lists sorted and
//! unique, root, admin and public present, limits respected, memberships only between existing users and roles,
//! a backup that restores to the same registry. The sequences draw from every operation of the table
//! ([`crate::ops::OPERATIONS`]), with arguments of each one's kinds.
//!
//! Case counts are small by default so that `cargo test` stays quick; `PROPTEST_CASES=10000 cargo test
//! fuzz_tests` runs longer.

use proptest::prelude::*;
use proptest::test_runner::Config;

use crate::caller::{Caller, Credentials};
use crate::ops::{args, ArgKind, OpSpec, Reply, ReplyKind, Request, Secret, Value, OPERATIONS};
use crate::password::HashStrength;
use crate::profile::{Profile, ProfileName, DOCS, MILVUS_24, MILVUS_25, MILVUS_26};
use crate::registry::Registry;
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

/// Values of one kind of argument, drawn mostly from the pools above.
fn value(kind: ArgKind) -> BoxedStrategy<Value> {
    let text = |names: BoxedStrategy<String>| names.prop_map(Value::Text).boxed();
    match kind {
        ArgKind::UserName | ArgKind::DroppedUser => text(user().boxed()),
        ArgKind::Password | ArgKind::NewPassword => password()
            .prop_map(|p| Value::Secret(Secret::new(p)))
            .boxed(),
        ArgKind::Description => prop::option::of(tricky_text())
            .prop_map(Value::OptionalText)
            .boxed(),
        ArgKind::NewDescription => text(tricky_text().boxed()),
        ArgKind::RoleName => text(role().boxed()),
        ArgKind::ObjectType => text(object_type().boxed()),
        ArgKind::ObjectName | ArgKind::CollectionName => text(object().boxed()),
        ArgKind::Privilege => text(privilege().boxed()),
        ArgKind::Database | ArgKind::GrantDatabase => text(database().boxed()),
        ArgKind::GroupName => text(group().boxed()),
        ArgKind::Privileges => prop::collection::vec(privilege(), 0..4)
            .prop_map(Value::Texts)
            .boxed(),
        ArgKind::Flag => any::<bool>().prop_map(Value::Flag).boxed(),
        // Client-side options change nothing in a registry.
        ArgKind::Reconnect => Just(Value::Flag(false)).boxed(),
        ArgKind::Timeout => Just(Value::Seconds(None)).boxed(),
        // Backups are checked by round trips (`Step::BackupAndRestore`).
        ArgKind::Backup => Just(Value::Backup(Box::default())).boxed(),
        ArgKind::UserFilter => prop::option::of(user())
            .prop_map(Value::OptionalText)
            .boxed(),
        ArgKind::BackupFormat => prop::sample::select(vec!["milvus-rbac", "milvus", "other"])
            .prop_map(|format| Value::Text(format.into()))
            .boxed(),
        ArgKind::Since => prop::option::of(0.0..2e9f64)
            .prop_map(Value::Seconds)
            .boxed(),
    }
}

/// One step of a sequence: any operation of the table with arguments of its kinds, or a backup round trip.
#[derive(Debug, Clone)]
enum Step {
    Execute(Request),
    BackupAndRestore,
}

/// Writes are drawn more often than reads, so that reads see something.
fn weight(spec: &OpSpec) -> u32 {
    match spec.name {
        "create_user" | "create_role" | "grant_role" | "grant_privilege" => 4,
        "drop_user" | "drop_role" | "update_password" | "grant_privilege_v2" => 2,
        _ => 1,
    }
}

fn step() -> impl Strategy<Value = Step> {
    let operations = OPERATIONS.iter().map(|spec| {
        let values: Vec<BoxedStrategy<Value>> =
            spec.args.iter().map(|arg| value(arg.kind)).collect();
        let request = values.prop_filter_map("arguments of the operation's kinds", move |values| {
            Request::from_values(spec, values).map(Step::Execute)
        });
        (weight(spec), request.boxed())
    });
    let mut steps: Vec<(u32, BoxedStrategy<Step>)> = operations.collect();
    steps.push((1, Just(Step::BackupAndRestore).boxed()));
    prop::strategy::Union::new_weighted(steps)
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

fn strictly_sorted<S: AsRef<str>>(names: &[S]) -> bool {
    names
        .windows(2)
        .all(|pair| pair[0].as_ref() < pair[1].as_ref())
}

/// Root's requests that read.
struct Reads<'r> {
    registry: &'r Registry,
    root: &'r Caller,
}

impl Reads<'_> {
    fn run(&self, request: Request) -> crate::Result<Reply> {
        self.registry.execute(self.root, &request)
    }

    fn names(&self, request: Request) -> Result<Vec<String>, TestCaseError> {
        match self.run(request).map_err(fail)? {
            Reply::Names(names) => Ok(names.iter().map(str::to_string).collect()),
            other => Err(TestCaseError::fail(format!("a list answered {other:?}"))),
        }
    }

    fn users(&self) -> Result<Vec<String>, TestCaseError> {
        self.names(Request::ListUsers(args::ListUsers { timeout: None }))
    }

    fn roles(&self) -> Result<Vec<String>, TestCaseError> {
        self.names(Request::ListRoles(args::ListRoles { timeout: None }))
    }

    /// The user's roles, if `describe_user` describes it.
    fn roles_of(&self, user: &str) -> Option<Vec<String>> {
        let request = Request::DescribeUser(args::DescribeUser {
            user_name: user.to_string(),
            timeout: None,
        });
        match self.run(request) {
            Ok(Reply::User(Some(described))) => Some(described.roles.clone()),
            _ => None,
        }
    }

    /// What `describe_user` shows of every user, for comparing two registries.
    fn memberships(&self) -> Vec<(String, Vec<String>)> {
        self.users()
            .unwrap_or_default()
            .into_iter()
            .map(|user| {
                let roles = self.roles_of(&user).unwrap_or_default();
                (user, roles)
            })
            .collect()
    }

    fn backup(&self) -> Result<crate::model::RbacBackup, TestCaseError> {
        match self
            .run(Request::BackupRbac(args::BackupRbac {
                timeout: None,
                format: "milvus-rbac".into(),
            }))
            .map_err(fail)?
        {
            Reply::Backup(backup, _) => Ok(*backup),
            other => Err(TestCaseError::fail(format!("a backup answered {other:?}"))),
        }
    }

    /// How many records the audit trail has had, checked intact.
    fn trail_length(&self) -> Result<u64, TestCaseError> {
        match self
            .run(Request::VerifyAudit(args::VerifyAudit { timeout: None }))
            .map_err(fail)?
        {
            Reply::AuditCheck(check) => {
                prop_assert_eq!(check.problem, None);
                Ok(check.last)
            }
            other => Err(TestCaseError::fail(format!(
                "verify_audit answered {other:?}"
            ))),
        }
    }
}

fn check_invariants(reads: &Reads<'_>) -> Result<(), TestCaseError> {
    let users = reads.users()?;
    let roles = reads.roles()?;
    prop_assert!(
        strictly_sorted(&users),
        "users not sorted and unique: {users:?}"
    );
    prop_assert!(
        strictly_sorted(&roles),
        "roles not sorted and unique: {roles:?}"
    );
    prop_assert!(users.iter().any(|u| u == "root"), "root is gone: {users:?}");
    for builtin in ["admin", "public"] {
        prop_assert!(roles.iter().any(|r| r == builtin), "{builtin} is gone");
    }
    prop_assert!(users.len() as u64 <= MAX_USERS, "{} users", users.len());
    prop_assert!(roles.len() as u64 <= MAX_ROLES, "{} roles", roles.len());
    for user in &users {
        // A stored name may be one the validator refuses now (2.4/2.5 store names untrimmed); describe
        // what describes.
        if let Some(held) = reads.roles_of(user) {
            prop_assert!(strictly_sorted(&held));
            for role in &held {
                prop_assert!(roles.contains(role), "{user} holds missing role {role}");
            }
        }
    }
    for role in &roles {
        let request = Request::DescribeRole(args::DescribeRole {
            role_name: role.clone(),
            timeout: None,
            db_name: "*".into(),
        });
        if let Ok(Reply::Role(described)) = reads.run(request) {
            prop_assert!(described.grants.iter().all(|g| &g.role_name == role));
        }
    }
    if reads.registry.profile().catalog.has_groups() {
        let request = Request::ListPrivilegeGroups(args::ListPrivilegeGroups { timeout: None });
        match reads.run(request).map_err(fail)? {
            Reply::Groups(groups) => {
                let mut names: Vec<&String> = groups.iter().map(|g| &g.name).collect();
                names.dedup();
                prop_assert_eq!(names.len(), groups.len(), "duplicate groups");
            }
            other => prop_assert!(false, "list_privilege_groups answered {other:?}"),
        }
    }
    Ok(())
}

fn fail(err: RbacError) -> TestCaseError {
    TestCaseError::fail(format!("a read failed: {err} (code {})", err.code()))
}

fn check_backup_round_trip(reads: &Reads<'_>, profile: ProfileName) -> Result<(), TestCaseError> {
    let backup = reads.backup()?;
    let (copy, copy_root) = open(profile);
    let copied = Reads {
        registry: &copy,
        root: &copy_root,
    };
    // The copy is new: its users and roles are root, admin and public, which a backup never holds.
    let restore = Request::RestoreRbac(args::RestoreRbac {
        meta: backup.clone(),
        timeout: None,
    });
    if let Err(err) = copied.run(restore) {
        // Milvus 2.6 refuses an empty backup; nothing else may fail.
        prop_assert!(
            backup.users.is_empty() && backup.roles.is_empty(),
            "restore failed: {err}"
        );
        return Ok(());
    }
    prop_assert_eq!(copied.roles()?, reads.roles()?);
    // Backups leave root out (as Milvus's BackupRBAC does), and with it root's roles.
    let without_root = |all: Vec<(String, Vec<String>)>| -> Vec<(String, Vec<String>)> {
        all.into_iter().filter(|(user, _)| user != "root").collect()
    };
    prop_assert_eq!(
        without_root(copied.memberships()),
        without_root(reads.memberships())
    );
    Ok(())
}

fn run_sequence(profile: ProfileName, steps: &[Step]) -> Result<(), TestCaseError> {
    let (registry, root) = open(profile);
    let reads = Reads {
        registry: &registry,
        root: &root,
    };
    for step in steps {
        let request = match step {
            Step::BackupAndRestore => {
                check_backup_round_trip(&reads, profile)?;
                continue;
            }
            // The old password is root's own only for root: root is not a super user here.
            Step::Execute(Request::UpdatePassword(change)) if change.user_name == "root" => {
                continue
            }
            Step::Execute(request) => request,
        };
        let before = reads.users()?;
        let trail_before = reads.trail_length()?;
        let outcome = registry.execute(&root, request);
        // Every change and every refused change leaves one record; so does a failed credential; reads and
        // operations the profile lacks leave none.
        let recorded = match &outcome {
            Err(RbacError::Unsupported { .. }) => false,
            Err(RbacError::Authentication { .. }) => true,
            _ => request.spec().returns == ReplyKind::Done,
        };
        prop_assert_eq!(
            reads.trail_length()?,
            trail_before + u64::from(recorded),
            "{:?}: {:?}",
            request,
            outcome.as_ref().err()
        );
        match outcome {
            Ok(_) => {
                if let Request::CreateUser(created) = request {
                    // A new user starts with no roles: nothing was left behind by an earlier user of that name.
                    let stored = reads.users()?;
                    let new: Vec<&String> = stored.iter().filter(|u| !before.contains(u)).collect();
                    prop_assert_eq!(new.len(), 1, "{:?} created {:?}", created.user_name, new);
                    if let Some(held) = reads.roles_of(new[0]) {
                        prop_assert!(held.is_empty(), "a new user holds {:?}", held);
                    }
                }
                if let Request::DropRole(dropped) = request {
                    for (user, roles) in reads.memberships() {
                        prop_assert!(
                            !roles.contains(&dropped.role_name),
                            "{user} still holds dropped {}",
                            dropped.role_name
                        );
                    }
                }
            }
            Err(err) => {
                prop_assert!(
                    KNOWN_CODES.contains(&err.code()),
                    "{request:?}: code {}: {err}",
                    err.code()
                );
                prop_assert!(!err.to_string().is_empty(), "{request:?}: an empty message");
                prop_assert!(
                    !matches!(err, RbacError::Storage { .. }),
                    "{request:?}: a storage error: {err}"
                );
            }
        }
        check_invariants(&reads)?;
    }
    check_backup_round_trip(&reads, profile)
}

fn profile_name() -> impl Strategy<Value = ProfileName> {
    prop::sample::select(ProfileName::ALL.to_vec())
}

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    fn random_operation_sequences_keep_the_registry_consistent(
        profile in profile_name(),
        steps in prop::collection::vec(step(), 1..40),
    ) {
        run_sequence(profile, &steps)?;
    }
}
