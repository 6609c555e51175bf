//! Property-based fuzzing (proptest) of what the server decodes from the network: REST bodies (Milvus's binding,
//! with Go's JSON error wording) and gRPC request messages of every served RPC. Whatever the bytes, nothing
//! panics, every refusal says something, and nested input is bounded. `cargo test` runs a few hundred cases of
//! each (CI runs them); `PROPTEST_CASES=100000 cargo test --lib server::fuzz_tests` runs longer.

use proptest::prelude::*;
use proptest::test_runner::Config;

use super::go_json::syntax_error;
use super::grpc::rpcs::answer;
use super::request::Body;
use crate::caller::Credentials;
use crate::profile::ProfileName;
use crate::registry::testing;
use crate::registry::Registry;

/// Every RPC the server answers from the registry (the others answer without reading the body).
const SERVED: &[&str] = &[
    "Connect",
    "GetVersion",
    "CheckHealth",
    "ListDatabases",
    "DescribeDatabase",
    "CreateCredential",
    "UpdateCredential",
    "DeleteCredential",
    "ListCredUsers",
    "CreateRole",
    "AlterRole",
    "DropRole",
    "OperateUserRole",
    "SelectRole",
    "SelectUser",
    "OperatePrivilege",
    "OperatePrivilegeV2",
    "SelectGrant",
    "CreatePrivilegeGroup",
    "DropPrivilegeGroup",
    "ListPrivilegeGroups",
    "OperatePrivilegeGroup",
    "BackupRBAC",
    "RestoreRBAC",
];

fn cases(default: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default);
    Config {
        cases,
        ..Config::default()
    }
}

/// JSON-shaped bytes: the tokens of JSON in any order and depth, with some noise, so that the scanner's states
/// are reached far more often than by uniform bytes.
fn json_like() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(b"{".to_vec()),
        Just(b"}".to_vec()),
        Just(b"[".to_vec()),
        Just(b"]".to_vec()),
        Just(b",".to_vec()),
        Just(b":".to_vec()),
        Just(b"\"userName\"".to_vec()),
        Just(b"\"roleName\"".to_vec()),
        Just(b"\"a\\u00e9\\n\"".to_vec()),
        Just(b"\"\\q\"".to_vec()),
        Just(b"-12.5e+3".to_vec()),
        Just(b"0".to_vec()),
        Just(b"true".to_vec()),
        Just(b"nul".to_vec()),
        Just(b" \n\t".to_vec()),
        any::<u8>().prop_map(|b| vec![b]),
    ];
    prop::collection::vec(token, 0..200).prop_map(|tokens| tokens.concat())
}

fn check_body(bytes: &[u8]) {
    for kind in ["UserReq", "RoleReq", "PasswordReq"] {
        match Body::parse(kind, bytes) {
            Ok(body) => {
                let _ = body.text("userName");
                let _ = body.texts("privileges");
            }
            Err(err) => assert!(!err.message.is_empty()),
        }
    }
    if let Some(message) = syntax_error(bytes) {
        assert!(
            message == "unexpected EOF" || message.starts_with("invalid character "),
            "{message}"
        );
    }
}

fn registry() -> Registry {
    testing::registry(ProfileName::Milvus26).0
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn rest_bodies_of_any_bytes_are_answered(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check_body(&bytes);
    }

    #[test]
    fn rest_bodies_shaped_like_json_are_answered(bytes in json_like()) {
        check_body(&bytes);
    }

    #[test]
    fn nesting_at_any_depth_is_answered(depth in 0usize..40_000, open in prop_oneof![Just(b'['), Just(b'{')]) {
        let mut bytes = Vec::new();
        for _ in 0..depth {
            bytes.push(open);
            if open == b'{' {
                bytes.extend_from_slice(b"\"a\":");
            }
        }
        check_body(&bytes);
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// Every served RPC, with a body of any bytes, from root and from nobody: an answer or a gRPC status,
    /// never a panic.
    #[test]
    fn grpc_requests_of_any_bytes_are_answered(
        rpc in prop::sample::select(SERVED),
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        as_root in any::<bool>(),
    ) {
        let registry = registry();
        let token = if as_root { "root:Milvus" } else { "nobody:x" };
        let credentials = Credentials::parse("", "", token);
        let _ = answer(&registry, rpc, registry.authenticate(&credentials, "default"), &bytes);
    }

    /// Protobuf-shaped bodies: fields 1-12 of the wire types a message may hold, with lengths that lie.
    #[test]
    fn grpc_requests_shaped_like_protobuf_are_answered(
        rpc in prop::sample::select(SERVED),
        fields in prop::collection::vec((1u8..13, 0u8..6, prop::collection::vec(any::<u8>(), 0..24)), 0..12),
    ) {
        let mut bytes = Vec::new();
        for (number, wire_type, payload) in fields {
            bytes.push((number << 3) | wire_type);
            if wire_type == 2 {
                bytes.push(u8::try_from(payload.len()).unwrap_or(0));
            }
            bytes.extend_from_slice(&payload);
        }
        let registry = registry();
        let credentials = Credentials::parse("", "", "root:Milvus");
        let _ = answer(&registry, rpc, registry.authenticate(&credentials, "default"), &bytes);
    }
}
