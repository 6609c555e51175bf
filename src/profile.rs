//! Profiles: the rules of one Milvus flavour, as data.
//!
//! The rules engine never asks "which version is this?"; it reads the field that says what to do.

use std::fmt;
use std::str::FromStr;

use crate::catalog::{Catalog, CATALOG_24, CATALOG_25, CATALOG_26, CATALOG_30};

/// How a length is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// UTF-8 bytes, as Go's `len()` counts them.
    Bytes,
    /// Unicode characters, as the documentation speaks of them.
    Chars,
}

impl Count {
    pub fn of(self, text: &str) -> usize {
        match self {
            Count::Bytes => text.len(),
            Count::Chars => text.chars().count(),
        }
    }
}

/// How an offending character is printed in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharStyle {
    /// Go's `%s` applied to a byte: `%!s(uint8=64)`.
    GoByteVerb,
    /// Go's `string(byte)`/`%c` of a byte: the byte read as Latin-1 (`Ã` for the first byte of `ü`).
    Latin1Byte,
    /// As `Latin1Byte`, but a space or a newline prints as nothing (as a 2.3.5 server was seen to print them).
    Latin1ByteHidingBlanks,
    /// The character itself.
    Char,
}

/// How a username's length limit is worded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsernameLengthWording {
    /// `... must be less than %!d(string=32)`: Go printed a string with `%d` (Milvus up to 2.6.18).
    GoStringVerb,
    /// `... must be less than 32` (Milvus 2.6.19).
    LessThan,
    /// `... must be less than or equal to 32` (what the limit means).
    AtMost,
}

/// The username rule.
#[derive(Debug, Clone, Copy)]
pub struct UsernameRule {
    /// Validate `strings.TrimSpace(name)` rather than the name itself.
    pub trim_for_validation: bool,
    /// Store the trimmed name (Milvus 2.6) rather than the name as given.
    pub store_trimmed: bool,
    pub count: Count,
    pub max_len: usize,
    /// Characters allowed after the first, besides ASCII letters and digits.
    pub extra_chars: &'static str,
    /// The end of the message for a bad character after the first.
    pub allowed_wording: &'static str,
    pub length_wording: UsernameLengthWording,
    pub first_char_style: CharStyle,
    pub other_char_style: CharStyle,
}

/// The password rule.
#[derive(Debug, Clone, Copy)]
pub enum PasswordRule {
    /// Milvus's server rule: a length range in bytes, nothing else. `hash_limit` is bcrypt's 72 bytes where the
    /// server validated a wider range than bcrypt accepts (Milvus 2.4).
    ByteLength {
        min: usize,
        max: usize,
        hash_limit: Option<usize>,
    },
    /// The documented rule: a length range in characters, and at least `classes` of the four character classes
    /// (ASCII upper case, ASCII lower case, digits, other printable characters); control characters refused.
    Documented {
        min: usize,
        max: usize,
        classes: usize,
    },
}

impl PasswordRule {
    /// The most bytes a valid password can have: a longer one can never match a stored hash.
    pub fn max_bytes(&self) -> usize {
        match *self {
            PasswordRule::ByteLength { max, .. } => max,
            PasswordRule::Documented { max, .. } => max * 4,
        }
    }
}

/// How a bad character after the first in a role-like name is worded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameCharsWording {
    /// `role name can only contain numbers, letters, dollars and underscores, found $ at 3`
    Dollars,
    /// `role name can only contain numbers, letters, underscores, and allowed characters ($), found - at 3`
    AllowedChars,
    /// `role name can only contain numbers, letters and underscores, found $ at 3`
    Underscores,
}

/// The rule for role names (and, later, the other RBAC names Milvus checks the same way).
#[derive(Debug, Clone, Copy)]
pub struct NameRule {
    pub trim_for_validation: bool,
    pub count: Count,
    pub max_len: usize,
    /// Whether the first character may be `_` (Milvus) or must be a letter (documentation).
    pub underscore_first: bool,
    /// Characters allowed after the first, besides ASCII letters and digits.
    pub extra_chars: &'static str,
    pub chars_wording: NameCharsWording,
    /// How the offending character is printed in the "can only contain" message.
    pub other_char_style: CharStyle,
}

/// The rules of one Milvus flavour.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    pub name: ProfileName,
    pub username: UsernameRule,
    pub password: PasswordRule,
    pub role_name: NameRule,
    /// Milvus 2.4/2.5 check the user limit before the duplicate; 2.6 the other way round.
    pub user_limit_before_duplicate: bool,
    /// Milvus 2.6 wraps its coordinator's check failures in `failed to check if <op>: ...`.
    pub prefix_check_failures: bool,
    /// Users and roles carry descriptions, and `update_user`/`alter_role` exist (Milvus 2.6.19).
    pub descriptions: bool,
    /// Milvus 2.4/2.5 let a super user "update" the password of a missing user, which creates it.
    pub update_creates_missing_user: bool,
    /// The wrong-old-password message drops trailing spaces and newlines from the name (as a 2.3.5 server
    /// was seen to do).
    pub old_password_message_trims_end: bool,
    /// Privileges, groups and the grants `public` starts with.
    pub catalog: &'static Catalog,
    /// The rule for privilege, object and collection names in grants.
    pub object_names: NameRule,
    /// What the object-name validator calls an object name (Milvus 2.4 says "role name").
    pub object_name_label: &'static str,
    /// Milvus 2.4 lists the supported object types when the type is unknown; later versions do not.
    pub lists_object_types: bool,
    /// Milvus 2.5+ name the object type in "not found the privilege name[...] in object[...]".
    pub names_object_of_missing_privilege: bool,
    /// `drop_role(force_drop=True)` drops the role's grants too (2.5+); 2.4 ignores the flag.
    pub force_drop: bool,
    /// Whether `drop_role` looks for grants in every database (2.5+) or only in `default` and `*` (2.4).
    pub drop_role_sees_all_databases: bool,
    /// `describe_role(db_name="*")` lists every database (2.4+ sources); a 2.3.5 server lists only grants stored
    /// in database `*`.
    pub star_database_lists_all: bool,
    /// Milvus 2.5+ ends a permission denial with ``in the `<db>` database``; 2.3.5 was seen without it.
    pub deny_names_database: bool,
    /// Milvus 3.0 checks cluster-level privileges (ClusterAdmin's) in database `*`, whatever the caller's
    /// database: only grants in `*` meet them (milvus#50690).
    pub cluster_privileges_in_any_database: bool,
}

/// The longest user or role description Milvus 2.6 accepts, in bytes.
pub const MAX_DESCRIPTION_BYTES: usize = 1024;

/// The name of a profile, as given to `MilvusClient(profile=...)` and stored in a registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileName {
    Docs,
    Milvus24,
    Milvus25,
    Milvus26,
    Milvus30,
}

impl ProfileName {
    pub const ALL: [ProfileName; 5] = [
        ProfileName::Docs,
        ProfileName::Milvus24,
        ProfileName::Milvus25,
        ProfileName::Milvus26,
        ProfileName::Milvus30,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProfileName::Docs => "docs",
            ProfileName::Milvus24 => "milvus-2.4",
            ProfileName::Milvus25 => "milvus-2.5",
            ProfileName::Milvus26 => "milvus-2.6",
            ProfileName::Milvus30 => "milvus-3.0",
        }
    }

    /// The rules this name stands for.
    pub fn profile(self) -> &'static Profile {
        match self {
            ProfileName::Docs => &DOCS,
            ProfileName::Milvus24 => &MILVUS_24,
            ProfileName::Milvus25 => &MILVUS_25,
            ProfileName::Milvus26 => &MILVUS_26,
            ProfileName::Milvus30 => &MILVUS_30,
        }
    }
}

impl fmt::Display for ProfileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProfileName {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ProfileName::ALL
            .into_iter()
            .find(|name| name.as_str() == text)
            .ok_or_else(|| {
                let known: Vec<&str> = ProfileName::ALL.iter().map(|n| n.as_str()).collect();
                format!(
                    "unknown profile {text:?}; known profiles: {}",
                    known.join(", ")
                )
            })
    }
}

const SERVER_USERNAME: UsernameRule = UsernameRule {
    trim_for_validation: true,
    store_trimmed: false,
    count: Count::Bytes,
    max_len: 32,
    extra_chars: "_",
    allowed_wording: "username must contain only numbers, letters and underscores",
    length_wording: UsernameLengthWording::GoStringVerb,
    first_char_style: CharStyle::Latin1Byte,
    other_char_style: CharStyle::GoByteVerb,
};

const SERVER_ROLE_NAME: NameRule = NameRule {
    trim_for_validation: true,
    count: Count::Bytes,
    max_len: 255,
    underscore_first: true,
    extra_chars: "_$",
    chars_wording: NameCharsWording::Dollars,
    other_char_style: CharStyle::Latin1Byte,
};

/// Milvus 2.6.2+ words the character rule with its configurable extra characters.
const MILVUS_26_NAMES: NameRule = NameRule {
    chars_wording: NameCharsWording::AllowedChars,
    other_char_style: CharStyle::Char,
    ..SERVER_ROLE_NAME
};

/// The rules as the Milvus documentation states them (the default profile).
pub static DOCS: Profile = Profile {
    name: ProfileName::Docs,
    username: UsernameRule {
        trim_for_validation: false,
        count: Count::Chars,
        length_wording: UsernameLengthWording::AtMost,
        first_char_style: CharStyle::Char,
        other_char_style: CharStyle::Char,
        ..SERVER_USERNAME
    },
    password: PasswordRule::Documented {
        min: 8,
        max: 64,
        classes: 3,
    },
    role_name: NameRule {
        trim_for_validation: false,
        count: Count::Chars,
        underscore_first: false,
        extra_chars: "_",
        chars_wording: NameCharsWording::Underscores,
        other_char_style: CharStyle::Char,
        ..SERVER_ROLE_NAME
    },
    user_limit_before_duplicate: false,
    prefix_check_failures: false,
    descriptions: true,
    update_creates_missing_user: false,
    old_password_message_trims_end: false,
    catalog: &CATALOG_26,
    object_names: MILVUS_26_NAMES,
    object_name_label: "object name",
    lists_object_types: false,
    names_object_of_missing_privilege: true,
    force_drop: true,
    drop_role_sees_all_databases: true,
    deny_names_database: true,
    star_database_lists_all: true,
    cluster_privileges_in_any_database: false,
};

/// Milvus 2.5.
pub static MILVUS_25: Profile = Profile {
    name: ProfileName::Milvus25,
    username: SERVER_USERNAME,
    password: PasswordRule::ByteLength {
        min: 6,
        max: 72,
        hash_limit: None,
    },
    role_name: SERVER_ROLE_NAME,
    user_limit_before_duplicate: true,
    prefix_check_failures: false,
    descriptions: false,
    update_creates_missing_user: true,
    old_password_message_trims_end: true,
    catalog: &CATALOG_25,
    object_names: SERVER_ROLE_NAME,
    object_name_label: "object name",
    lists_object_types: false,
    names_object_of_missing_privilege: true,
    force_drop: true,
    drop_role_sees_all_databases: true,
    deny_names_database: true,
    star_database_lists_all: true,
    cluster_privileges_in_any_database: false,
};

/// Milvus 2.4, and what a real 2.3.5 server was seen to do.
pub static MILVUS_24: Profile = Profile {
    name: ProfileName::Milvus24,
    username: UsernameRule {
        // 2.3.5 printed the first character with `%s` of a byte, like the others.
        first_char_style: CharStyle::GoByteVerb,
        ..SERVER_USERNAME
    },
    // The server validated up to 256 bytes, then bcrypt refused more than 72.
    password: PasswordRule::ByteLength {
        min: 6,
        max: 256,
        hash_limit: Some(72),
    },
    role_name: NameRule {
        other_char_style: CharStyle::Latin1ByteHidingBlanks,
        ..SERVER_ROLE_NAME
    },
    catalog: &CATALOG_24,
    object_name_label: "role name",
    lists_object_types: true,
    names_object_of_missing_privilege: false,
    force_drop: false,
    drop_role_sees_all_databases: false,
    deny_names_database: false,
    star_database_lists_all: false,
    ..MILVUS_25
};

/// Milvus 2.6 as of 2.6.19: `.` and `-` in usernames, descriptions, `alter_role`, prefixed check failures.
pub static MILVUS_26: Profile = Profile {
    name: ProfileName::Milvus26,
    username: UsernameRule {
        store_trimmed: true,
        extra_chars: "_.-",
        allowed_wording:
            "username must contain only numbers, letters, underscores, dots, and hyphens",
        length_wording: UsernameLengthWording::LessThan,
        ..SERVER_USERNAME
    },
    password: PasswordRule::ByteLength {
        min: 6,
        max: 72,
        hash_limit: None,
    },
    role_name: MILVUS_26_NAMES,
    user_limit_before_duplicate: false,
    prefix_check_failures: true,
    descriptions: true,
    update_creates_missing_user: false,
    old_password_message_trims_end: true,
    catalog: &CATALOG_26,
    object_names: MILVUS_26_NAMES,
    object_name_label: "object name",
    lists_object_types: false,
    names_object_of_missing_privilege: true,
    force_drop: true,
    drop_role_sees_all_databases: true,
    deny_names_database: true,
    star_database_lists_all: true,
    cluster_privileges_in_any_database: false,
};

/// Milvus 3.0.1: 2.6's rules with 3.0's catalog (snapshots, external collections, file resources in the built-in
/// groups, `Expr`; RenameCollection a database-level privilege), and cluster-level privileges checked in `*`.
pub static MILVUS_30: Profile = Profile {
    name: ProfileName::Milvus30,
    catalog: &CATALOG_30,
    cluster_privileges_in_any_database: true,
    ..MILVUS_26
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate;

    /// `ok`, or the error's message.
    fn shown(result: crate::error::Result<()>) -> String {
        match result {
            Ok(()) => "ok".to_string(),
            Err(err) => err.to_string(),
        }
    }

    /// Each probe's answer in every profile (in `ProfileName::ALL`'s order: docs, 2.4, 2.5, 2.6, 3.0) is `ok`
    /// or an error whose message holds the fragment given.
    fn check(rule: &str, probe: &str, answer: impl Fn(&Profile) -> String, expected: [&str; 5]) {
        for (name, fragment) in ProfileName::ALL.into_iter().zip(expected) {
            let answer = answer(name.profile());
            let holds = if fragment == "ok" {
                answer == "ok"
            } else {
                answer != "ok" && answer.contains(fragment)
            };
            assert!(holds, "{name}, {rule} {probe:?}: {answer}");
        }
    }

    #[test]
    fn usernames_per_profile() {
        let probes: [(&str, [&str; 5]); 6] = [
            (" ab", ["but got  :", "ok", "ok", "ok", "ok"]),
            (
                "a.b",
                ["but got .:", "(uint8=46)", "(uint8=46)", "ok", "ok"],
            ),
            (
                "ü",
                [
                    "but got ü",
                    "(uint8=195)",
                    "but got Ã",
                    "but got Ã",
                    "but got Ã",
                ],
            ),
            (
                "a b",
                [
                    "and underscores, but got  :",
                    "(uint8=32)",
                    "(uint8=32)",
                    "dots, and hyphens",
                    "dots, and hyphens",
                ],
            ),
            (
                &"a".repeat(33),
                [
                    "less than or equal to 32",
                    "%!d(string=32)",
                    "%!d(string=32)",
                    "less than 32:",
                    "less than 32:",
                ],
            ),
            // 20 characters in 40 bytes: the documentation counts characters, Milvus bytes.
            (
                &"ü".repeat(20),
                [
                    "the first character must be a letter",
                    "with length 40",
                    "with length 40",
                    "with length 40",
                    "with length 40",
                ],
            ),
        ];
        for (probe, expected) in probes {
            check(
                "username",
                probe,
                |p| shown(validate::username(&p.username, probe)),
                expected,
            );
        }
    }

    #[test]
    fn role_and_object_names_per_profile() {
        let roles: [(&str, [&str; 5]); 6] = [
            (" r", ["[actual= ]", "ok", "ok", "ok", "ok"]),
            ("_r", ["[actual=_]", "ok", "ok", "ok", "ok"]),
            ("r$", ["found $", "ok", "ok", "ok", "ok"]),
            (
                "rü",
                [
                    "letters and underscores, found ü",
                    "dollars and underscores, found Ã",
                    "dollars and underscores, found Ã",
                    "allowed characters ($), found ü",
                    "allowed characters ($), found ü",
                ],
            ),
            // 2.3.5 printed a blank as nothing.
            (
                "r b",
                [
                    "found   at 1",
                    "found  at 1",
                    "found   at 1",
                    "found   at 1",
                    "found   at 1",
                ],
            ),
            (
                &"ü".repeat(200),
                [
                    "[actual=ü]",
                    "[400 out of range",
                    "[400 out of range",
                    "[400 out of range",
                    "[400 out of range",
                ],
            ),
        ];
        for (probe, expected) in roles {
            check(
                "role name",
                probe,
                |p| shown(validate::name(&p.role_name, probe, "role name")),
                expected,
            );
        }
        let objects: [(&str, [&str; 5]); 3] = [
            ("_r", ["ok", "ok", "ok", "ok", "ok"]),
            ("r.x", ["object name can only contain numbers, letters, underscores, and allowed characters ($)", "role name can only contain numbers, letters, dollars", "object name can only contain numbers, letters, dollars", "allowed characters ($)", "allowed characters ($)"]),
            ("rü", ["found ü", "found Ã", "found Ã", "found ü", "found ü"]),
        ];
        for (probe, expected) in objects {
            check(
                "object name",
                probe,
                |p| shown(validate::name(&p.object_names, probe, p.object_name_label)),
                expected,
            );
        }
    }

    #[test]
    fn passwords_per_profile() {
        let probes: [(&str, [&str; 5]); 4] = [
            (
                "abc12",
                [
                    "8 <= value <= 64",
                    "6 <= value <= 256",
                    "6 <= value <= 72",
                    "6 <= value <= 72",
                    "6 <= value <= 72",
                ],
            ),
            ("abcdefgh", ["at least 3 of", "ok", "ok", "ok", "ok"]),
            (
                &"Ab1".repeat(24),
                ["72 out of range 8 <= value <= 64", "ok", "ok", "ok", "ok"],
            ),
            (
                &"a".repeat(257),
                [
                    "257 out of range",
                    "257 out of range 6 <= value <= 256",
                    "257 out of range 6 <= value <= 72",
                    "257 out",
                    "257 out",
                ],
            ),
        ];
        for (probe, expected) in probes {
            check(
                "password",
                probe,
                |p| shown(validate::password(&p.password, probe)),
                expected,
            );
        }
        // The longest password that can match: 64 characters of up to 4 bytes; 2.4 hashed up to 256 bytes.
        let max_bytes = ProfileName::ALL.map(|name| name.profile().password.max_bytes());
        assert_eq!(max_bytes, [256, 256, 72, 72, 72]);
    }

    #[test]
    fn each_profile_is_its_own_name_and_line() {
        let catalogs = [
            &CATALOG_26,
            &CATALOG_24,
            &CATALOG_25,
            &CATALOG_26,
            &CATALOG_30,
        ];
        for (name, catalog) in ProfileName::ALL.into_iter().zip(catalogs) {
            let profile = name.profile();
            assert_eq!(profile.name, name);
            assert!(std::ptr::eq(profile.catalog, catalog), "{name}");
            assert_eq!(name.to_string(), name.as_str());
            assert_eq!(name.as_str().parse::<ProfileName>(), Ok(name));
        }
        assert_eq!(
            "milvus-9".parse::<ProfileName>().unwrap_err(),
            "unknown profile \"milvus-9\"; known profiles: docs, milvus-2.4, milvus-2.5, milvus-2.6, milvus-3.0"
        );
    }
}
