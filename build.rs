//! Compiles Milvus's protocol definitions (proto/, written for this project) into Rust types when the gRPC
//! front is built, and etcd's when the etcd store is, without a `protoc` binary: protox parses them, prost generates the messages.

fn main() {
    #[cfg(any(feature = "server", feature = "client"))]
    compile_protos();
    #[cfg(feature = "etcd")]
    compile_etcd_protos();
}

/// The part of etcd's v3 API the etcd store uses (proto/etcd.proto, written for this project).
#[cfg(feature = "etcd")]
fn compile_etcd_protos() {
    println!("cargo:rerun-if-changed=proto/etcd.proto");
    let files = protox::compile(["proto/etcd.proto"], ["proto"])
        .unwrap_or_else(|err| panic!("proto/etcd.proto does not compile: {err}"));
    prost_build::Config::new()
        .compile_fds(files)
        .unwrap_or_else(|err| panic!("cannot generate etcd's Rust types: {err}"));
}

#[cfg(any(feature = "server", feature = "client"))]
fn compile_protos() {
    println!("cargo:rerun-if-changed=proto");
    let files = protox::compile(["proto/common.proto", "proto/milvus.proto"], ["proto"])
        .unwrap_or_else(|err| panic!("proto/ does not compile: {err}"));
    prost_build::Config::new()
        .compile_fds(files)
        .unwrap_or_else(|err| panic!("cannot generate the protocol's Rust types: {err}"));
}
