//! milvus-rbac: Milvus's users, roles and privileges, embedded.
//!
//! The core knows nothing of Python: [`Registry`] holds the rules, [`store`] the SQLite persistence, and
//! the optional `python` feature adds the binding.

pub mod authz;
pub mod backend;
pub mod catalog;
pub mod credential_cache;
pub mod error;
pub mod password;
pub mod profile;
pub mod registry;
pub mod remote;
pub mod server;
pub mod settings;
pub mod store;
pub mod validate;

#[cfg(feature = "python")]
mod python;

#[cfg(test)]
mod fuzz_tests;

pub use error::{RbacError, Result};
pub use registry::{Caller, Credentials, Registry, UserDescription};
pub use settings::{RegistryOptions, Settings};
pub use store::Location;
