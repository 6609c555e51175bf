//! The conformance cases of `tests/conformance/cases/*.json` (what a real Milvus 2.3.5 answered), run against
//! the Rust registry itself, so that `cargo test` alone catches a wrong rule, code or message. The case format
//! is documented in `tests/conformance/README.md`; the Python runner there also runs them through the Python
//! binding and against a real server.
//!
//! Results are compared as the Python binding shapes them (see `reply_json`), except the key order of a
//! grant, which is the Python front's business and is checked there.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use milvus_rbac::connect::{connect, Reach};
use milvus_rbac::ops::{ArgKind, Executor, OpSpec, Reply, Request, Value};
use milvus_rbac::{Caller, Credentials, HashStrength, ProfileName, RbacError, RegistryOptions};
use serde_json::{json, Map, Value as Json};

/// Tags of cases this runner cannot run: `client_artifact` is pymilvus's own behaviour against 2.3.5.
const UNSUPPORTED_TAGS: &[&str] = &["client_artifact"];
const ROOT_USER: &str = "root";
const ROOT_PASSWORD: &str = "Milvus";
/// Operations whose success returns nothing; a step on one without `result` checks that.
const MUTATORS: &[&str] = &[
    "create_user",
    "drop_user",
    "update_password",
    "create_role",
    "drop_role",
    "grant_role",
    "revoke_role",
    "grant_privilege",
    "revoke_privilege",
];

fn cases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/cases")
}

/// Every case, as (topic file stem, case).
fn load_cases() -> Vec<(String, Json)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("tests/conformance/cases is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    let mut cases = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("a case file is readable");
        let file: Json = serde_json::from_str(&text)
            .unwrap_or_else(|err| panic!("{} is not JSON: {err}", path.display()));
        let topic = path.file_stem().unwrap().to_string_lossy().to_string();
        for case in file["cases"].as_array().expect("a case file has `cases`") {
            cases.push((topic.clone(), case.clone()));
        }
    }
    cases
}

// ---------------------------------------------------------------------------------------------------------
// Expanding case data: {"$str": [...]} builders and, in repeated steps, {i} and {i:02}

fn expand(value: &Json, index: Option<usize>) -> Json {
    match value {
        Json::Object(map) if map.len() == 1 && map.contains_key("$str") => {
            let mut text = String::new();
            for part in map["$str"].as_array().expect("$str holds a list") {
                match part {
                    Json::String(piece) => text.push_str(piece),
                    Json::Array(pair) => {
                        let piece = pair[0].as_str().expect("[text, count]");
                        let count = pair[1].as_u64().expect("[text, count]") as usize;
                        text.push_str(&piece.repeat(count));
                    }
                    other => panic!("a $str part is text or [text, count], not {other}"),
                }
            }
            Json::String(substitute(&text, index))
        }
        Json::Object(map) => Json::Object(
            map.iter()
                .map(|(key, value)| (key.clone(), expand(value, index)))
                .collect(),
        ),
        Json::Array(items) => Json::Array(items.iter().map(|item| expand(item, index)).collect()),
        Json::String(text) => Json::String(substitute(text, index)),
        other => other.clone(),
    }
}

/// `{i}` and `{i:02}` (the only format spec the cases use) replaced by the step's index.
fn substitute(text: &str, index: Option<usize>) -> String {
    match index {
        None => text.to_string(),
        Some(i) => text
            .replace("{i:02}", &format!("{i:02}"))
            .replace("{i}", &i.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------------------
// Running steps on the registry

/// An outcome as the cases write it: a normalised result, or (code, message).
type Outcome = Result<Json, (i64, String)>;

fn failure(err: RbacError) -> (i64, String) {
    (i64::from(err.code()), normalise_message(&err.to_string()))
}

/// Milvus 2.4 and older list object types from a Go map, in random order: the cases hold them sorted.
fn normalise_message(message: &str) -> String {
    const LIST: &str = "supported the object types: [";
    let Some(start) = message.find(LIST).map(|at| at + LIST.len()) else {
        return message.to_string();
    };
    let Some(length) = message[start..].find(']') else {
        return message.to_string();
    };
    let mut types: Vec<&str> = message[start..start + length].split_whitespace().collect();
    types.sort_unstable();
    format!(
        "{}{}{}",
        &message[..start],
        types.join(" "),
        &message[start + length..]
    )
}

/// One open client: what a `MilvusClient` holds.
struct Client {
    executor: Arc<dyn Executor>,
    caller: Caller,
}

struct Runner {
    uri: String,
    options: RegistryOptions,
    root_password: String,
    root: Option<(String, Client)>,
    named: Vec<(String, Client)>,
}

impl Runner {
    fn new(uri: String) -> Runner {
        Runner {
            uri,
            options: RegistryOptions {
                profile: Some(ProfileName::Milvus24),
                password_hash: Some(HashStrength::Fast),
                ..RegistryOptions::default()
            },
            root_password: ROOT_PASSWORD.to_string(),
            root: None,
            named: Vec::new(),
        }
    }

    fn connect(&self, credentials: &Credentials) -> Result<Client, (i64, String)> {
        let (executor, caller) =
            connect(&self.uri, credentials, "", &self.options, &Reach::default())
                .map_err(failure)?;
        Ok(Client { executor, caller })
    }

    fn token_credentials(token: &str) -> Credentials {
        Credentials::parse("", "", token)
    }

    /// The root client, reopened with root's current password.
    fn root_client(&mut self) -> &Client {
        let token = format!("{ROOT_USER}:{}", self.root_password);
        if self.root.as_ref().is_none_or(|(held, _)| *held != token) {
            let client = self
                .connect(&Self::token_credentials(&token))
                .unwrap_or_else(|err| panic!("cannot connect as root: {err:?}"));
            self.root = Some((token, client));
        }
        &self.root.as_ref().unwrap().1
    }

    fn run_case(&mut self, case: &Json) -> Result<(), String> {
        for (number, step) in case["steps"]
            .as_array()
            .expect("`steps`")
            .iter()
            .enumerate()
        {
            let indices: Vec<Option<usize>> = match step.get("repeat").and_then(Json::as_u64) {
                Some(count) => (0..count as usize).map(Some).collect(),
                None => vec![None],
            };
            for index in indices {
                let step = expand(step, index);
                let at = index.map_or(String::new(), |i| format!(" (i={i})"));
                self.run_step(&step)
                    .map_err(|problem| format!("step {number}{at} {step}: {problem}"))?;
            }
        }
        Ok(())
    }

    fn run_step(&mut self, step: &Json) -> Result<(), String> {
        if let Some(spec) = step.get("connect") {
            let text = |key: &str| spec.get(key).and_then(Json::as_str).unwrap_or_default();
            let credentials = Credentials::parse(text("user"), text("password"), text("token"));
            let outcome = self.connect(&credentials).map(|client| {
                if let Some(name) = step.get("client").and_then(Json::as_str) {
                    self.named.push((name.to_string(), client));
                }
                Json::Null
            });
            return check(step, "connect", outcome);
        }
        let call = step["call"]
            .as_str()
            .expect("a step has `call` or `connect`");
        let request = build_request(call, step.get("args"))?;
        let outcome = if let Some(name) = step.get("client").and_then(Json::as_str) {
            let (_, client) = self
                .named
                .iter()
                .find(|(held, _)| held == name)
                .ok_or_else(|| format!("no open client named {name:?}"))?;
            execute(client, &request)
        } else if let Some(token) = step.pointer("/as/token").and_then(Json::as_str) {
            self.connect(&Self::token_credentials(token))
                .and_then(|client| execute(&client, &request))
        } else {
            execute(self.root_client(), &request)
        };
        if let (Ok(_), Request::UpdatePassword(args)) = (&outcome, &request) {
            if args.user_name == ROOT_USER {
                self.root_password = args.new_password.as_str().to_string();
            }
        }
        check(step, call, outcome)
    }
}

fn execute(client: &Client, request: &Request) -> Outcome {
    client
        .executor
        .execute(&client.caller, request)
        .map(|reply| reply_json(&reply))
        .map_err(failure)
}

/// The request for `call` with the case's arguments (pymilvus's names), read as the Python binding reads them.
fn build_request(call: &str, args: Option<&Json>) -> Result<Request, String> {
    let spec = OpSpec::named(call).ok_or_else(|| format!("no operation {call}"))?;
    let mut given = Vec::new();
    for (name, value) in args.and_then(Json::as_object).unwrap_or(&Map::new()) {
        let arg = spec
            .arg(name)
            .ok_or_else(|| format!("{call} has no argument {name}"))?;
        let value = match value {
            Json::String(text) => arg.kind.text_value(text),
            Json::Bool(flag) if matches!(arg.kind, ArgKind::Flag | ArgKind::Reconnect) => {
                Some(Value::Flag(*flag))
            }
            _ => None,
        }
        .ok_or_else(|| format!("{call}: {name}={value} is not a value of its kind"))?;
        given.push((arg.name, value));
    }
    Request::build(call, given).ok_or_else(|| format!("{call}: arguments do not fit"))
}

/// A reply as the Python binding returns it, normalised as the cases write results.
fn reply_json(reply: &Reply) -> Json {
    match reply {
        Reply::Done => Json::Null,
        Reply::Names(names) => Json::from(names.iter().collect::<Vec<&str>>()),
        Reply::User(None) => json!({}),
        Reply::User(Some(user)) => json!({"user_name": user.name, "roles": user.roles}),
        Reply::Role(role) => json!({
            "role": role.name,
            "privileges": role.grants.iter().map(|grant| json!({
                "object_type": grant.object_type,
                "object_name": grant.object_name,
                "db_name": grant.db_name,
                "role_name": grant.role_name,
                "privilege": grant.privilege,
                "grantor_name": grant.grantor,
            })).collect::<Vec<Json>>(),
        }),
        other => panic!("the cases call no operation that replies {other:?}"),
    }
}

fn check(step: &Json, call: &str, outcome: Outcome) -> Result<(), String> {
    if let Some(want) = step.get("error") {
        let want = (
            want["code"].as_i64().expect("an error code"),
            want["message"]
                .as_str()
                .expect("an error message")
                .to_string(),
        );
        return match outcome {
            Err(got) if got == want => Ok(()),
            Err(got) => Err(format!("expected error {want:?}, got error {got:?}")),
            Ok(got) => Err(format!("expected error {want:?}, got success {got}")),
        };
    }
    let got = outcome.map_err(|err| format!("expected success, got error {err:?}"))?;
    match step.get("result") {
        Some(want) if *want != got => Err(format!("expected {want}, got {got}")),
        Some(_) => Ok(()),
        None if (MUTATORS.contains(&call) || call == "connect") && !got.is_null() => {
            Err(format!("expected nothing, got {got}"))
        }
        None => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------------------

/// A case that opens more than one client needs them on one registry: a file of its own.
fn opens_clients(case: &Json) -> bool {
    case["steps"].as_array().unwrap().iter().any(|step| {
        step.get("as").is_some() || step.get("connect").is_some() || step.get("client").is_some()
    })
}

/// A fresh directory for one case's registry file, removed when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> ScratchDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "milvus-rbac-conformance-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("a scratch directory");
        ScratchDir(path)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(topic: &str, case: &Json) -> Result<(), String> {
    let scratch = opens_clients(case).then(ScratchDir::new);
    let uri = scratch.as_ref().map_or(":memory:".to_string(), |dir| {
        dir.0.join("registry.db").to_string_lossy().to_string()
    });
    Runner::new(uri)
        .run_case(case)
        .map_err(|problem| format!("{topic}:{}: {problem}", case["name"]))
}

#[test]
fn every_conformance_case_agrees_with_milvus() {
    let cases = load_cases();
    assert!(cases.len() > 150, "only {} cases found", cases.len());
    let runnable: Vec<&(String, Json)> = cases
        .iter()
        .filter(|(_, case)| {
            let tags = case.get("tags").and_then(Json::as_array);
            !tags.is_some_and(|tags| {
                tags.iter()
                    .any(|tag| UNSUPPORTED_TAGS.contains(&tag.as_str().unwrap_or_default()))
            })
        })
        .collect();
    // Every skipped case is a client artifact, and there are few of them.
    assert!(
        cases.len() - runnable.len() <= 3,
        "{} cases skipped",
        cases.len() - runnable.len()
    );
    let failures: Vec<String> = runnable
        .iter()
        .filter_map(|(topic, case)| run(topic, case).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases disagree:\n{}",
        failures.len(),
        runnable.len(),
        failures.join("\n")
    );
}

#[test]
fn a_wrong_expectation_is_caught() {
    // The runner itself must fail a case whose expectation is wrong, in message or in result.
    let wrong_message = json!({"name": "x", "steps": [
        {"call": "create_role", "args": {"role_name": "  "},
         "error": {"code": 1100, "message": "not what Milvus says"}}]});
    assert!(run("self", &wrong_message).is_err());
    let wrong_result = json!({"name": "x", "steps": [
        {"call": "list_roles", "result": ["admin"]}]});
    assert!(run("self", &wrong_result).is_err());
    let right = json!({"name": "x", "steps": [
        {"call": "create_user", "args": {"user_name": "cf_u{i}", "password": "abcdef"}, "repeat": 2},
        {"call": "list_users", "result": ["cf_u0", "cf_u1", "root"]}]});
    assert_eq!(run("self", &right), Ok(()));
}

#[test]
fn object_type_lists_are_sorted_as_the_cases_hold_them() {
    assert_eq!(
        normalise_message("x supported the object types: [User Global Collection] y"),
        "x supported the object types: [Collection Global User] y"
    );
    assert_eq!(normalise_message("no list here"), "no list here");
}
