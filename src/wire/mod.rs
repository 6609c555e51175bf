//! The wire formats the fronts speak: what Milvus's protocols carry, shared by the server and the client of
//! each, and used by neither to reach the other.

#[cfg(any(feature = "server", feature = "client"))]
pub mod grpc;
// Read by the Python front (restore_rbac, backup_rbac(format="milvus")); built and tested without it too.
#[cfg(any(feature = "server", feature = "client"))]
#[cfg_attr(not(feature = "python"), allow(dead_code))]
pub mod milvus_backup;
#[cfg(any(feature = "server", feature = "client"))]
pub mod rest;

/// A server's address as it may be shown: credentials in it (`http://user:password@host`) are dropped.
/// Anything without a scheme (a registry file's path) is returned as it is.
pub fn without_userinfo(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return uri.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}{path}")
}
