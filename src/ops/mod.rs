//! Operations as data: every RBAC operation as a [`Request`] (one type per operation, from the table in
//! [`table`]), its [`Reply`], and its [`OpSpec`]: name, arguments, privilege, availability, Milvus's REST
//! path and gRPC method. The registry executes requests; each front (Python, REST server, REST client)
//! translates to and from them through the specs, with no code of its own per operation.

#[macro_use]
mod table;
mod values;

use std::sync::Arc;

use crate::audit::{AuditRecord, Verification};
use crate::authz::Explanation;
use crate::caller::Caller;
use crate::catalog::ObjectType;
use crate::error::{Result, Rpc};
use crate::model::{BackupFormat, Group, Names, RbacBackup, RoleDescription, UserDescription, ANY};
pub(crate) use table::for_each_operation;
pub use values::{ArgKind, FromValue, Secret, Value, ValueRef};

/// Which profiles have an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Always,
    /// Privilege groups and grant v2: Milvus 2.5+.
    WithGroups,
    /// Descriptions and `alter_role`: Milvus 2.6.19+.
    WithDescriptions,
}

/// The privilege an operation needs, and on what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    pub object_type: ObjectType,
    pub privilege: &'static str,
    /// The argument naming the object, or `None` for `*`.
    pub object: Option<&'static str>,
}

/// Where Milvus's REST API v2 serves an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestRoute {
    /// Under `/v2/vectordb`.
    pub path: &'static str,
    /// The Go struct Milvus binds the request body to.
    pub request: &'static str,
}

/// One argument of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgSpec {
    /// pymilvus's parameter name.
    pub name: &'static str,
    pub kind: ArgKind,
    /// The value when none is given, where it is not the kind's own.
    pub default: Option<&'static str>,
}

/// What an operation answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind {
    Done,
    Names,
    User,
    Role,
    Groups,
    Allowed,
    Explanation,
    Backup,
    AuditRecords,
    AuditCheck,
}

/// Everything known about one operation but how it runs.
#[derive(Debug)]
pub struct OpSpec {
    /// pymilvus's method name.
    pub name: &'static str,
    /// The lines of its documentation (the Python docstring).
    pub doc: &'static [&'static str],
    /// Milvus's gRPC method; `None` for this project's extensions.
    pub rpc: Option<Rpc>,
    pub available: Availability,
    pub needs: Needs,
    pub rest: Option<RestRoute>,
    pub args: &'static [ArgSpec],
    pub returns: ReplyKind,
}

impl OpSpec {
    /// The spec of the operation named `name`.
    pub fn named(name: &str) -> Option<&'static OpSpec> {
        OPERATIONS.iter().find(|spec| spec.name == name)
    }

    /// The operation served at REST path `path` (under `/v2/vectordb`).
    pub fn at_rest_path(path: &str) -> Option<&'static OpSpec> {
        OPERATIONS
            .iter()
            .find(|spec| spec.rest.is_some_and(|route| route.path == path))
    }

    /// The first line of the documentation.
    pub fn summary(&self) -> &'static str {
        self.doc.first().map_or("", |line| line.trim())
    }

    pub fn arg(&self, name: &str) -> Option<&'static ArgSpec> {
        self.args.iter().find(|arg| arg.name == name)
    }
}

/// A registry's answer to a request.
#[derive(Debug, Clone)]
pub enum Reply {
    Done,
    Names(Arc<Names>),
    /// `None`: no such user.
    User(Option<Arc<UserDescription>>),
    Role(Arc<RoleDescription>),
    Groups(Arc<Vec<Group>>),
    Allowed(bool),
    Explanation(Box<Explanation>),
    /// A backup, to be shown in the form asked for.
    Backup(Box<RbacBackup>, BackupFormat),
    /// Oldest first.
    AuditRecords(Arc<Vec<AuditRecord>>),
    AuditCheck(Box<Verification>),
}

/// A rule's result as a [`Reply`]: each result type is one kind of reply.
pub trait IntoReply {
    fn into_reply(self) -> Reply;
}

impl IntoReply for () {
    fn into_reply(self) -> Reply {
        Reply::Done
    }
}

impl IntoReply for Arc<Names> {
    fn into_reply(self) -> Reply {
        Reply::Names(self)
    }
}

impl IntoReply for Option<Arc<UserDescription>> {
    fn into_reply(self) -> Reply {
        Reply::User(self)
    }
}

impl IntoReply for Arc<RoleDescription> {
    fn into_reply(self) -> Reply {
        Reply::Role(self)
    }
}

impl IntoReply for Arc<Vec<Group>> {
    fn into_reply(self) -> Reply {
        Reply::Groups(self)
    }
}

impl IntoReply for bool {
    fn into_reply(self) -> Reply {
        Reply::Allowed(self)
    }
}

impl IntoReply for Explanation {
    fn into_reply(self) -> Reply {
        Reply::Explanation(Box::new(self))
    }
}

impl IntoReply for Vec<AuditRecord> {
    fn into_reply(self) -> Reply {
        Reply::AuditRecords(Arc::new(self))
    }
}

impl IntoReply for Verification {
    fn into_reply(self) -> Reply {
        Reply::AuditCheck(Box::new(self))
    }
}

impl IntoReply for (RbacBackup, BackupFormat) {
    fn into_reply(self) -> Reply {
        Reply::Backup(Box::new(self.0), self.1)
    }
}

/// What runs requests: a registry, embedded or on a server. A front that serves clients holds one and needs
/// nothing else.
pub trait Executor: Send + Sync {
    /// Execute `request` for `caller`.
    fn execute(&self, caller: &Caller, request: &Request) -> Result<Reply>;

    /// What to show of it in a client's repr (its profile, or its server).
    fn describe(&self) -> String;
}

/// What a client does after a request succeeds, beyond showing the reply.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientEffect<'r> {
    /// Go on as `user` with `password` (`update_password(..., reset_connection=True)`).
    Reconnect { user: &'r str, password: &'r str },
}

/// Expands the table into the request types, [`Request`] and [`OPERATIONS`].
macro_rules! define_operations {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident => $Op:ident {
            rpc: $rpc:ident,
            available: $available:ident,
            needs: $object_type:ident $privilege:literal on $object:ident,
            rest: $rest:tt,
            python: [$($required:ident),*] [$($optional:ident),*] [$($from_kwargs:ident),*] $signature:literal,
            args: { $($arg:ident: $kind:ident $(= $default:literal)?),* $(,)? },
            returns: $returns:ident,
        }
    )*) => {
        /// The arguments of each operation, one type per operation.
        pub mod args {
            #[allow(unused_imports)]
            use super::values::kinds::*;

            $(
                $(#[doc = $doc])*
                #[derive(Debug, Clone, PartialEq)]
                pub struct $Op {
                    $(pub $arg: $kind,)*
                }
            )*
        }

        /// The operations, in the table's order (their specs' positions in [`OPERATIONS`]).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum OpKind {
            $($Op,)*
        }

        /// One request to a registry: an operation and its arguments.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Request {
            $($Op(args::$Op),)*
        }

        /// Every operation, in the table's order.
        pub static OPERATIONS: &[OpSpec] = &[
            $(OpSpec {
                name: stringify!($name),
                doc: &[$($doc),*],
                rpc: define_operations!(@rpc $rpc),
                available: Availability::$available,
                needs: Needs {
                    object_type: ObjectType::$object_type,
                    privilege: $privilege,
                    object: define_operations!(@object $object),
                },
                rest: define_operations!(@rest $rest),
                args: &[$(ArgSpec {
                    name: stringify!($arg),
                    kind: ArgKind::$kind,
                    default: define_operations!(@default $($default)?),
                },)*],
                returns: ReplyKind::$returns,
            },)*
        ];

        impl Request {
            /// The operation's spec.
            pub fn spec(&self) -> &'static OpSpec {
                let kind = match self {
                    $(Request::$Op(_) => OpKind::$Op,)*
                };
                &OPERATIONS[kind as usize]
            }

            /// The arguments, in the spec's order.
            pub fn values(&self) -> Vec<ValueRef<'_>> {
                match self {
                    $(Request::$Op(args) => vec![$(ValueRef::from(&args.$arg),)*],)*
                }
            }

            /// The request for the operation of `spec`, from its arguments' values in the spec's order.
            pub fn from_values(spec: &OpSpec, values: Vec<Value>) -> Option<Request> {
                let mut values = values.into_iter();
                let request = match spec.name {
                    $(stringify!($name) => Request::$Op(args::$Op {
                        $($arg: FromValue::from_value(values.next()?)?,)*
                    }),)*
                    _ => return None,
                };
                values.next().is_none().then_some(request)
            }

            /// The object the operation's privilege is checked on.
            #[allow(unused_variables)]
            pub fn object(&self) -> &str {
                match self {
                    $(Request::$Op(args) => define_operations!(@object_of args $object),)*
                }
            }
        }
    };
    (@rpc none) => { None };
    (@rpc $rpc:ident) => { Some(Rpc::$rpc) };
    (@object any) => { None };
    (@object $arg:ident) => { Some(stringify!($arg)) };
    (@object_of $args:ident any) => { ANY };
    (@object_of $args:ident $arg:ident) => { $args.$arg.as_str() };
    (@rest none) => { None };
    (@rest ($path:literal, $request:ident)) => {
        Some(RestRoute { path: $path, request: stringify!($request) })
    };
    (@default) => { None };
    (@default $default:literal) => { Some($default) };
}

for_each_operation!(define_operations);

impl Request {
    /// The request for the operation named `name`, with the `given` arguments (by name) and the others at
    /// their defaults. `None` for an unknown operation or argument, or a value of another kind.
    pub fn build<'a>(
        name: &str,
        given: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Option<Request> {
        let spec = OpSpec::named(name)?;
        let mut values: Vec<Option<Value>> = vec![None; spec.args.len()];
        for (arg, value) in given {
            let at = spec.args.iter().position(|known| known.name == arg)?;
            values[at] = Some(value);
        }
        let values = values
            .into_iter()
            .zip(spec.args)
            .map(|(value, arg)| value.unwrap_or_else(|| arg.kind.default_value(arg.default)))
            .collect();
        Request::from_values(spec, values)
    }

    /// What the client does once this request succeeded.
    pub fn client_effect(&self) -> Option<ClientEffect<'_>> {
        match self {
            Request::UpdatePassword(args) if args.reset_connection => {
                Some(ClientEffect::Reconnect {
                    user: &args.user_name,
                    password: args.new_password.as_str(),
                })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_knows_its_spec_and_round_trips_through_values() {
        for spec in OPERATIONS {
            let values: Vec<Value> = spec
                .args
                .iter()
                .map(|arg| arg.kind.default_value(arg.default))
                .collect();
            let request = Request::from_values(spec, values).expect(spec.name);
            assert!(std::ptr::eq(request.spec(), spec), "{}", spec.name);
            assert_eq!(request.values().len(), spec.args.len());
            let again: Vec<Value> = request.values().into_iter().map(Value::from).collect();
            assert_eq!(Request::from_values(spec, again), Some(request));
        }
    }

    #[test]
    fn names_and_rest_paths_are_unique() {
        for (at, spec) in OPERATIONS.iter().enumerate() {
            assert!(OPERATIONS[..at].iter().all(|other| other.name != spec.name));
            if let Some(route) = spec.rest {
                assert!(std::ptr::eq(
                    OpSpec::at_rest_path(route.path).unwrap(),
                    spec
                ));
            }
            if let Some(object) = spec.needs.object {
                assert!(
                    spec.arg(object).is_some(),
                    "{} checks an unknown argument",
                    spec.name
                );
            }
        }
    }

    /// `update_password(..., reset_connection=True)` makes the client go on as the user with the new password;
    /// nothing else changes how a client goes on.
    #[test]
    fn only_a_password_update_that_resets_the_connection_reconnects() {
        let request = |name: &str, texts: &[(&str, &str)]| {
            let spec = OpSpec::named(name).unwrap();
            let given = texts
                .iter()
                .map(|(arg, text)| (*arg, spec.arg(arg).unwrap().kind.text_value(text).unwrap()));
            Request::build(name, given).unwrap()
        };
        let update = |reset: &str| {
            let texts = [
                ("user_name", "u"),
                ("old_password", "Old-p4ss"),
                ("new_password", "New-p4ss"),
                ("reset_connection", reset),
            ];
            request("update_password", &texts)
        };
        match update("True").client_effect() {
            Some(ClientEffect::Reconnect { user, password }) => {
                assert_eq!((user, password), ("u", "New-p4ss"))
            }
            None => panic!("no reconnection"),
        }
        assert!(update("False").client_effect().is_none());
        assert!(request("drop_user", &[("user_name", "u")])
            .client_effect()
            .is_none());
    }

    /// A summary is the documentation's first line, as the REST server's OpenAPI description shows it.
    #[test]
    fn summaries_are_the_first_line_of_the_docs() {
        for spec in OPERATIONS {
            assert_eq!(spec.summary(), spec.doc[0].trim(), "{}", spec.name);
            assert!(!spec.summary().is_empty(), "{}", spec.name);
        }
    }

    #[test]
    fn values_of_the_wrong_kind_or_number_build_nothing() {
        let spec = OpSpec::named("drop_user").unwrap();
        assert_eq!(Request::from_values(spec, vec![Value::Flag(true)]), None);
        assert_eq!(Request::from_values(spec, vec![]), None);
    }
}
