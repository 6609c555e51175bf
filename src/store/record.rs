//! A registry as separate records: what a store that keeps each record under its own key (etcd) reads and
//! writes. The in-memory store can be built from records and tells which records a transaction changed.

/// One record, by identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKey {
    Setting(String),
    SuperUser(String),
    User(String),
    Role(String),
    Membership {
        user: String,
        role: String,
    },
    Grant {
        role: String,
        object_type: String,
        db_name: String,
        object_name: String,
        privilege: String,
    },
    Group(String),
    GroupMember {
        group: String,
        privilege: String,
    },
}

/// What a record holds beyond its identity.
#[cfg(feature = "etcd")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordValue {
    /// Super users, memberships, groups and group members: the key says it all.
    Present,
    /// A setting's value, a role's description, a grant's grantor.
    Text(String),
    User {
        password_hash: String,
        description: String,
    },
}
