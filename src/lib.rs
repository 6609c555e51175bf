//! milvus-rbac: Milvus's users, roles and privileges, embedded.
//!
//! The core knows nothing of Python or of transports: [`ops`] defines every operation once, [`Registry`]
//! executes them with Milvus's rules, and [`store`] keeps the registry (in memory or in a SQLite file). The
//! fronts translate to and from operations: the REST server and client (features `server`, `client`) and the
//! Python binding (feature `python`). See ARCHITECTURE.md.

pub mod authz;
pub mod catalog;
pub mod connect;
mod credential_cache;
pub mod error;
pub mod model;
pub mod ops;
mod password;
pub mod profile;
mod registry;
pub mod settings;
mod store;
mod validate;
pub mod wire;

#[cfg(feature = "python")]
mod python;
#[cfg(feature = "client")]
mod remote;
#[cfg(feature = "server")]
mod server;

#[cfg(test)]
mod fuzz_tests;

pub use error::{RbacError, Result};
pub use password::HashStrength;
pub use registry::{Caller, Credentials, Registry};
pub use settings::{RegistryOptions, SettingName, Settings};
pub use store::Location;
