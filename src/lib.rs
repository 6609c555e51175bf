//! milvus-rbac: Milvus's users, roles and privileges, embedded.
//!
//! The core knows nothing of Python or of transports: [`ops`] defines every operation once, [`Registry`]
//! executes them with Milvus's rules, and a store keeps the registry (in memory or in a SQLite file). The
//! fronts translate to and from operations: the REST server and client (features `server`, `client`) and the
//! Python binding (feature `python`). See ARCHITECTURE.md.
//!
//! The public API is what a Rust program needs to run a registry: open one, authenticate, execute
//! requests, read replies and errors.

pub mod audit;
mod authz;
mod caller;
mod catalog;
mod client_tls;
pub mod connect;
mod credential_cache;
mod error;
pub mod model;
pub mod ops;
mod password;
mod profile;
mod registry;
mod settings;
mod store;
mod validate;
mod wire;

#[cfg(feature = "client")]
mod grpc_client;
#[cfg(feature = "python")]
mod python;
#[cfg(feature = "client")]
mod remote;
#[cfg(feature = "server")]
mod server;

#[cfg(test)]
mod fuzz_tests;

pub use authz::{Explanation, Reason, Requirement};
pub use caller::{Caller, Credentials};
pub use catalog::ObjectType;
pub use error::{LegacyCode, RbacError, Result};
pub use password::HashStrength;
pub use profile::ProfileName;
pub use registry::Registry;
pub use settings::{Limit, RegistryOptions, SettingName, Settings};
pub use store::Location;
