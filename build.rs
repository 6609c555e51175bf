//! Compiles Milvus's protocol definitions (proto/, written for this project) into Rust types when the gRPC
//! front is built, without a `protoc` binary: protox parses them, prost generates the messages.

fn main() {
    #[cfg(any(feature = "server", feature = "client"))]
    compile_protos();
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
