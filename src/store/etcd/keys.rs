//! Where each record lives in etcd, and what its value holds.
//!
//! Under the registry's prefix: `head` (the current generation, the change counts, the last writer's
//! transaction id and the audit trail's bounds), `audit/<number>` (the audit trail's records, outside the
//! generations: a new generation leaves them where they are), `turn` (the writer whose turn it is, while one holds it), and each record of the current generation under `g<generation>/<kind>/<names...>`, the
//! names separated by `/`, with `%` and `/` in a name written as `%25` and `%2F`. A user's value is its
//! password hash, a newline, and its description (a hash has no newline); a setting's, a role's description;
//! a grant's, its grantor; the others hold nothing.

use crate::audit::Chain;
use crate::error::{RbacError, Result};
use crate::store::record::{RecordKey, RecordValue};
use crate::store::Version;

/// What `head` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Head {
    pub generation: String,
    pub version: Version,
    /// The transaction that wrote it: tells a writer whose answer was lost whether its commit happened.
    pub transaction: String,
    /// The audit trail's bounds, moved in the same transaction as the records it bounds.
    pub audit: Chain,
}

impl Head {
    pub(super) fn encode(&self) -> Vec<u8> {
        format!(
            "{} {} {} {} {} {} {}",
            self.generation,
            self.version.changes,
            self.version.credentials,
            self.transaction,
            self.audit.first,
            self.audit.last,
            self.audit.head
        )
        .into_bytes()
    }

    pub(super) fn decode(value: &[u8]) -> Result<Head> {
        let text = std::str::from_utf8(value).map_err(|_| corrupt("head", "not UTF-8"))?;
        let fields: Vec<&str> = text.split(' ').collect();
        let number = |field: &str| field.parse::<u64>().map_err(|_| corrupt("head", text));
        let (generation, changes, credentials, transaction, audit) = match fields.as_slice() {
            // A head written before the audit trail has no bounds: its trail is empty.
            [generation, changes, credentials, transaction] => (
                generation,
                changes,
                credentials,
                transaction,
                Chain::default(),
            ),
            [generation, changes, credentials, transaction, first, last, head] => (
                generation,
                changes,
                credentials,
                transaction,
                Chain {
                    first: number(first)?,
                    last: number(last)?,
                    head: head.to_string(),
                },
            ),
            _ => return Err(corrupt("head", text)),
        };
        Ok(Head {
            generation: generation.to_string(),
            version: Version {
                changes: number(changes)?,
                credentials: number(credentials)?,
            },
            transaction: transaction.to_string(),
            audit,
        })
    }
}

fn corrupt(key: &str, detail: &str) -> RbacError {
    RbacError::Storage {
        message: format!(
            "the registry's etcd key {key:?} is not what milvus-rbac writes: {detail:?}"
        ),
    }
}

/// The key of audit record `seq`: numbers padded so that keys sort as numbers do.
pub(super) fn audit_key(prefix: &str, seq: u64) -> Vec<u8> {
    format!("{prefix}audit/{seq:020}").into_bytes()
}

/// The first key of the audit trail's records, and the key after its last.
pub(super) fn audit_range(prefix: &str) -> (Vec<u8>, Vec<u8>) {
    (
        format!("{prefix}audit/").into_bytes(),
        format!("{prefix}audit0").into_bytes(),
    )
}

/// The number of the audit record at `key`.
pub(super) fn audit_seq(prefix: &str, key: &[u8]) -> Result<u64> {
    let text = String::from_utf8_lossy(key);
    text.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix("audit/"))
        .and_then(|seq| seq.parse().ok())
        .ok_or_else(|| corrupt(&text, "not an audit record's key"))
}

/// The key of `head` under `prefix`.
pub(super) fn head_key(prefix: &str) -> Vec<u8> {
    format!("{prefix}head").into_bytes()
}

/// The key of the registry's write turn (see the store's module).
pub(super) fn turn_key(prefix: &str) -> Vec<u8> {
    format!("{prefix}turn").into_bytes()
}

/// The first key under `prefix`, and the key after every key under it (etcd's `range_end`): the prefix ends
/// with `/`, and the key after ends with the next byte.
pub(super) fn prefix_range(prefix: &str) -> (Vec<u8>, Vec<u8>) {
    let first = prefix.as_bytes().to_vec();
    let mut end = first.clone();
    if let Some(last) = end.last_mut() {
        *last += 1;
    }
    (first, end)
}

/// The first key of a generation's records, and the key after its last (etcd's `range_end`).
pub(super) fn generation_range(prefix: &str, generation: &str) -> (Vec<u8>, Vec<u8>) {
    (
        format!("{prefix}g{generation}/").into_bytes(),
        format!("{prefix}g{generation}0").into_bytes(),
    )
}

fn escape(name: &str, into: &mut String) {
    for c in name.chars() {
        match c {
            '%' => into.push_str("%25"),
            '/' => into.push_str("%2F"),
            c => into.push(c),
        }
    }
}

fn unescape(part: &str) -> Option<String> {
    let mut out = String::with_capacity(part.len());
    let mut rest = part;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        match rest.get(at..at + 3) {
            Some("%25") => out.push('%'),
            Some("%2F") => out.push('/'),
            _ => return None,
        }
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    Some(out)
}

/// A record's kind and names.
fn parts(key: &RecordKey) -> (&'static str, Vec<&str>) {
    match key {
        RecordKey::Setting(name) => ("setting", vec![name]),
        RecordKey::SuperUser(name) => ("super", vec![name]),
        RecordKey::User(name) => ("user", vec![name]),
        RecordKey::Role(name) => ("role", vec![name]),
        RecordKey::Membership { user, role } => ("member", vec![user, role]),
        RecordKey::Grant {
            role,
            object_type,
            db_name,
            object_name,
            privilege,
        } => (
            "grant",
            vec![role, object_type, db_name, object_name, privilege],
        ),
        RecordKey::Group(name) => ("group", vec![name]),
        RecordKey::GroupMember { group, privilege } => ("privilege", vec![group, privilege]),
    }
}

/// The etcd key of a record in `generation`.
pub(super) fn record_key(prefix: &str, generation: &str, key: &RecordKey) -> Vec<u8> {
    let (kind, names) = parts(key);
    let mut text = format!("{prefix}g{generation}/{kind}");
    for name in names {
        text.push('/');
        escape(name, &mut text);
    }
    text.into_bytes()
}

pub(super) fn record_value(value: &RecordValue) -> Vec<u8> {
    match value {
        RecordValue::Present => Vec::new(),
        RecordValue::Text(text) => text.clone().into_bytes(),
        RecordValue::User {
            password_hash,
            description,
        } => format!("{password_hash}\n{description}").into_bytes(),
    }
}

/// A record from its key (without the generation's prefix) and value.
pub(super) fn decode_record(relative_key: &[u8], value: &[u8]) -> Result<(RecordKey, RecordValue)> {
    let shown = String::from_utf8_lossy(relative_key);
    let bad = || corrupt(&shown, "unknown record");
    let key = std::str::from_utf8(relative_key).map_err(|_| bad())?;
    let value = std::str::from_utf8(value).map_err(|_| bad())?;
    let mut fields = key.split('/');
    let kind = fields.next().ok_or_else(bad)?;
    let names = fields
        .map(unescape)
        .collect::<Option<Vec<String>>>()
        .ok_or_else(bad)?;
    let text = || RecordValue::Text(value.to_string());
    let record = match (kind, names.as_slice()) {
        ("setting", [name]) => (RecordKey::Setting(name.clone()), text()),
        ("super", [name]) => (RecordKey::SuperUser(name.clone()), RecordValue::Present),
        ("user", [name]) => {
            let (password_hash, description) = value.split_once('\n').ok_or_else(bad)?;
            let user = RecordValue::User {
                password_hash: password_hash.to_string(),
                description: description.to_string(),
            };
            (RecordKey::User(name.clone()), user)
        }
        ("role", [name]) => (RecordKey::Role(name.clone()), text()),
        ("member", [user, role]) => (
            RecordKey::Membership {
                user: user.clone(),
                role: role.clone(),
            },
            RecordValue::Present,
        ),
        ("grant", [role, object_type, db_name, object_name, privilege]) => (
            RecordKey::Grant {
                role: role.clone(),
                object_type: object_type.clone(),
                db_name: db_name.clone(),
                object_name: object_name.clone(),
                privilege: privilege.clone(),
            },
            text(),
        ),
        ("group", [name]) => (RecordKey::Group(name.clone()), RecordValue::Present),
        ("privilege", [group, privilege]) => (
            RecordKey::GroupMember {
                group: group.clone(),
                privilege: privilege.clone(),
            },
            RecordValue::Present,
        ),
        _ => return Err(bad()),
    };
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_with_awkward_names() {
        let key = RecordKey::Grant {
            role: "a/b%c".into(),
            object_type: "Collection".into(),
            db_name: "".into(),
            object_name: "*".into(),
            privilege: "%2F".into(),
        };
        let value = RecordValue::Text("root".into());
        let full = record_key("/p/", "7", &key);
        let relative = &full["/p/g7/".len()..];
        assert_eq!(
            decode_record(relative, &record_value(&value)).unwrap(),
            (key, value)
        );
        let user = RecordValue::User {
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            description: "line\nbreak".into(),
        };
        let key = RecordKey::User("u".into());
        let full = record_key("/p/", "7", &key);
        assert_eq!(
            decode_record(&full["/p/g7/".len()..], &record_value(&user)).unwrap(),
            (key, user)
        );
        assert!(decode_record(b"grant/x", b"").is_err());
        assert!(decode_record(b"user/%zz", b"h\n").is_err());
    }

    /// Every kind of record comes back as it went, under the kind's own key; a record of one kind never
    /// reads as another's.
    #[test]
    fn every_kind_of_record_round_trips() {
        let text = |value: &str| RecordValue::Text(value.into());
        let records = [
            (RecordKey::Setting("password_rule".into()), text("docs")),
            (RecordKey::SuperUser("root".into()), RecordValue::Present),
            (RecordKey::Role("reader".into()), text("reads")),
            (
                RecordKey::Membership {
                    user: "u".into(),
                    role: "reader".into(),
                },
                RecordValue::Present,
            ),
            (RecordKey::Group("readers".into()), RecordValue::Present),
            (
                RecordKey::GroupMember {
                    group: "readers".into(),
                    privilege: "Search".into(),
                },
                RecordValue::Present,
            ),
        ];
        let mut kinds = std::collections::BTreeSet::new();
        for (key, value) in records {
            let full = record_key("/p/", "7", &key);
            let relative = &full["/p/g7/".len()..];
            kinds.insert(
                relative
                    .split(|byte| *byte == b'/')
                    .next()
                    .unwrap()
                    .to_vec(),
            );
            assert_eq!(
                decode_record(relative, &record_value(&value)).unwrap(),
                (key, value)
            );
        }
        assert_eq!(kinds.len(), 6, "each kind has its own key");
    }

    #[test]
    fn head_round_trips_and_refuses_garbage() {
        let head = Head {
            generation: "ab12".into(),
            version: Version {
                changes: 5,
                credentials: 2,
            },
            transaction: "t9".into(),
            audit: Chain {
                first: 3,
                last: 9,
                head: "f00d".into(),
            },
        };
        assert_eq!(Head::decode(&head.encode()).unwrap(), head);
        let before_audit = Head::decode(b"ab12 5 2 t9").unwrap();
        assert_eq!(before_audit.audit, Chain::default());
        assert!(Head::decode(b"ab12 x 2 t").is_err());
        assert!(Head::decode(b"ab12").is_err());
    }
}
