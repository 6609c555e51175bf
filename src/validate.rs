//! Name, password and description validators, driven by a profile's rules.
//!
//! Each returns Milvus's exact error (code 1100) for the first rule that fails, in Milvus's order:
//! emptiness, length, first character, other characters.

use crate::error::{RbacError, Result};
use crate::profile::{
    CharStyle, NameCharsWording, NameRule, PasswordRule, UsernameLengthWording, UsernameRule,
    MAX_DESCRIPTION_BYTES,
};

/// Go's `strings.TrimSpace` and Rust's `trim` strip the same Unicode white space.
fn subject(text: &str, trim: bool) -> &str {
    if trim {
        text.trim()
    } else {
        text
    }
}

/// The offending character at byte offset `at` of `text`, printed as the profile's Milvus prints it.
fn render_char(text: &str, at: usize, style: CharStyle) -> String {
    let byte = text.as_bytes()[at];
    match style {
        CharStyle::GoByteVerb => format!("%!s(uint8={byte})"),
        CharStyle::Latin1Byte => char::from(byte).to_string(),
        CharStyle::Latin1ByteHidingBlanks if byte == b' ' || byte == b'\n' => String::new(),
        CharStyle::Latin1ByteHidingBlanks => char::from(byte).to_string(),
        CharStyle::Char => text[at..]
            .chars()
            .next()
            .map(String::from)
            .unwrap_or_default(),
    }
}

/// The byte offset of the first character, after the first, that is neither an ASCII letter or digit nor in
/// `extra` (all ASCII). Every character before it is ASCII, so the offset is its index in characters too: rules
/// that count characters and rules that walk bytes (as Go does) find the same place.
fn first_disallowed_after_first(text: &str, extra: &str) -> Option<usize> {
    text.bytes()
        .enumerate()
        .skip(1)
        .find(|(_, b)| {
            let allowed =
                b.is_ascii_alphanumeric() || b.is_ascii() && extra.contains(char::from(*b));
            !allowed
        })
        .map(|(offset, _)| offset)
}

/// Milvus's `ValidateUsername`, or the documented rule.
pub fn username(rule: &UsernameRule, name: &str) -> Result<()> {
    let name = subject(name, rule.trim_for_validation);
    if name.is_empty() {
        return Err(RbacError::invalid(
            "username must be not empty: invalid parameter",
        ));
    }
    let length = rule.count.of(name);
    if length > rule.max_len {
        let limit = match rule.length_wording {
            UsernameLengthWording::GoStringVerb => {
                format!("less than %!d(string={})", rule.max_len)
            }
            UsernameLengthWording::LessThan => format!("less than {}", rule.max_len),
            UsernameLengthWording::AtMost => format!("less than or equal to {}", rule.max_len),
        };
        return Err(RbacError::invalid(format!(
            "invalid username {name} with length {length}, the length of username must be {limit}: invalid parameter"
        )));
    }
    if !name.as_bytes()[0].is_ascii_alphabetic() {
        let got = render_char(name, 0, rule.first_char_style);
        return Err(RbacError::invalid(format!(
            "invalid user name {name}, the first character must be a letter, but got {got}: invalid parameter"
        )));
    }
    if let Some(offset) = first_disallowed_after_first(name, rule.extra_chars) {
        let got = render_char(name, offset, rule.other_char_style);
        return Err(RbacError::invalid(format!(
            "invalid user name {name}, {}, but got {got}: invalid parameter",
            rule.allowed_wording
        )));
    }
    Ok(())
}

/// Milvus's `validateName` for role names (`name_type` is the label in the message, e.g. "role name").
pub fn name(rule: &NameRule, entity: &str, name_type: &str) -> Result<()> {
    let entity = subject(entity, rule.trim_for_validation);
    if entity.is_empty() {
        return Err(RbacError::invalid(format!(
            "{name_type} should be not empty: invalid parameter[expected=not empty][actual=]"
        )));
    }
    let length = rule.count.of(entity);
    if length > rule.max_len {
        return Err(RbacError::invalid(format!(
            "the length of {name_type} must be not greater than limit: invalid parameter[{length} out of range 0 <= value <= {}]",
            rule.max_len
        )));
    }
    let first = entity.as_bytes()[0];
    if rule.underscore_first {
        if first != b'_' && !first.is_ascii_alphabetic() {
            return Err(RbacError::invalid(format!(
                "the first character of {name_type} must be an underscore or letter: invalid parameter[expected=95][actual={first}]"
            )));
        }
    } else if !first.is_ascii_alphabetic() {
        let actual = render_char(entity, 0, CharStyle::Char);
        return Err(RbacError::invalid(format!(
            "the first character of {name_type} must be a letter: invalid parameter[expected=letter][actual={actual}]"
        )));
    }
    if let Some(offset) = first_disallowed_after_first(entity, rule.extra_chars) {
        let found = render_char(entity, offset, rule.other_char_style);
        let allowed = match rule.chars_wording {
            NameCharsWording::Dollars => "numbers, letters, dollars and underscores".to_string(),
            NameCharsWording::Underscores => "numbers, letters and underscores".to_string(),
            NameCharsWording::AllowedChars => {
                let custom: String = rule.extra_chars.chars().filter(|c| *c != '_').collect();
                format!("numbers, letters, underscores, and allowed characters ({custom})")
            }
        };
        return Err(RbacError::invalid(format!(
            "{name_type} can only contain {allowed}, found {found} at {offset}: invalid parameter"
        )));
    }
    Ok(())
}

/// Milvus's `ValidatePassword`, or the documented rule. Never puts the password in a message.
pub fn password(rule: &PasswordRule, password: &str) -> Result<()> {
    match *rule {
        PasswordRule::ByteLength { min, max, .. } => length_in_range(password.len(), min, max),
        PasswordRule::Documented { min, max, classes } => {
            length_in_range(password.chars().count(), min, max)?;
            if password.chars().any(char::is_control) {
                return Err(RbacError::invalid(
                    "invalid password, control characters are not allowed: invalid parameter",
                ));
            }
            let found = character_classes(password);
            if found < classes {
                return Err(RbacError::invalid(format!(
                    "invalid password, it must contain at least {classes} of: uppercase letters, lowercase letters, \
                     numbers and special characters: invalid parameter[expected={classes}][actual={found}]"
                )));
            }
            Ok(())
        }
    }
}

fn length_in_range(length: usize, min: usize, max: usize) -> Result<()> {
    if length < min || length > max {
        return Err(RbacError::invalid(format!(
            "invalid password length: invalid parameter[{length} out of range {min} <= value <= {max}]"
        )));
    }
    Ok(())
}

/// How many of: ASCII upper case, ASCII lower case, ASCII digits, anything else printable.
fn character_classes(password: &str) -> usize {
    let mut seen = [false; 4];
    for c in password.chars() {
        let class = if c.is_ascii_uppercase() {
            0
        } else if c.is_ascii_lowercase() {
            1
        } else if c.is_ascii_digit() {
            2
        } else {
            3
        };
        seen[class] = true;
    }
    seen.iter().filter(|s| **s).count()
}

/// Milvus 2.4 hashed with bcrypt, which refuses more than 72 bytes after validation has passed.
pub fn password_hashable(rule: &PasswordRule, password: &str) -> Result<()> {
    match *rule {
        PasswordRule::ByteLength {
            hash_limit: Some(limit),
            ..
        } if password.len() > limit => Err(RbacError::PasswordTooLongToHash),
        _ => Ok(()),
    }
}

/// Milvus's `ValidatePrivilegeGroupName`: no trimming; codes 1402 and 1100, with Milvus's wrapping artefacts.
pub fn privilege_group_name(group: &str) -> Result<()> {
    let invalid_name = |message: String| RbacError::InvalidGroupName { message };
    if group.is_empty() {
        return Err(invalid_name(
            "invalid privilege group name[privilegeGroup=privilege group name should not be empty]"
                .into(),
        ));
    }
    if group.len() > MAX_NAME_BYTES {
        return Err(invalid_name(format!(
            "{group}->{MAX_NAME_BYTES}: invalid privilege group name[privilegeGroup=the length of a privilege group \
             name %s must be less than %s characters]"
        )));
    }
    let first = group.as_bytes()[0];
    if first != b'_' && !first.is_ascii_alphabetic() {
        return Err(invalid_name(format!(
            "{group}: invalid privilege group name[privilegeGroup=the first character of a privilege group name \
             %s must be an underscore or letter]"
        )));
    }
    if first_disallowed_after_first(group, "_").is_some() {
        return Err(RbacError::invalid(format!(
            "privilege group name {group} can only contain numbers, letters and underscores: invalid parameter"
        )));
    }
    Ok(())
}

/// Milvus's `ValidateDatabaseName` (code 802), for the database of a grant v2.
pub fn database_name(db_name: &str) -> Result<()> {
    let refuse = |reason: String| RbacError::InvalidDatabaseName {
        message: format!("{reason}: invalid database name[database={db_name}]"),
    };
    if db_name.is_empty() {
        return Err(refuse("database name couldn't be empty".into()));
    }
    if db_name.len() > MAX_NAME_BYTES {
        return Err(refuse(format!(
            "the length of a database name must be less than {MAX_NAME_BYTES} characters"
        )));
    }
    let first = db_name.as_bytes()[0];
    if first != b'_' && !first.is_ascii_alphabetic() {
        return Err(refuse(
            "the first character of a database name must be an underscore or letter".into(),
        ));
    }
    if first_disallowed_after_first(db_name, "_").is_some() {
        return Err(refuse(
            "database name can only contain numbers, letters and underscores".into(),
        ));
    }
    Ok(())
}

/// Milvus's `proxy.maxNameLength`.
const MAX_NAME_BYTES: usize = 255;

/// Milvus 2.6's description check (`kind` is "user" or "role").
pub fn description(kind: &str, text: &str) -> Result<()> {
    if text.len() > MAX_DESCRIPTION_BYTES {
        return Err(RbacError::invalid(format!(
            "invalid {kind} description with length {}, the length of {kind} description must be less than or equal to {MAX_DESCRIPTION_BYTES}: invalid parameter",
            text.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{DOCS, MILVUS_24, MILVUS_25, MILVUS_26};

    fn message(result: Result<()>) -> String {
        match result {
            Err(err) => {
                assert_eq!(err.code(), 1100, "{err}");
                err.to_string()
            }
            Ok(()) => "ok".into(),
        }
    }

    #[test]
    fn milvus_24_usernames_as_seen_on_a_real_server() {
        let rule = &MILVUS_24.username;
        assert_eq!(message(username(rule, &"a".repeat(32))), "ok");
        assert_eq!(
            message(username(rule, &format!("{} ", "a".repeat(32)))),
            "ok"
        );
        assert_eq!(
            message(username(rule, &"a".repeat(33))),
            format!("invalid username {} with length 33, the length of username must be less than %!d(string=32): invalid parameter", "a".repeat(33))
        );
        assert_eq!(
            message(username(rule, "1abc")),
            "invalid user name 1abc, the first character must be a letter, but got %!s(uint8=49): invalid parameter"
        );
        assert_eq!(
            message(username(rule, "üser")),
            "invalid user name üser, the first character must be a letter, but got %!s(uint8=195): invalid parameter"
        );
        assert_eq!(
            message(username(rule, "n@me")),
            "invalid user name n@me, username must contain only numbers, letters and underscores, but got %!s(uint8=64): invalid parameter"
        );
        assert_eq!(
            message(username(rule, "   ")),
            "username must be not empty: invalid parameter"
        );
        assert_eq!(message(username(rule, " x_lead")), "ok");
        // Length is checked before the first character.
        assert!(message(username(rule, &format!("1{}", "a".repeat(32)))).contains("with length 33"));
    }

    #[test]
    fn later_servers_print_the_first_character_and_allow_dots_in_26() {
        assert_eq!(
            message(username(&MILVUS_25.username, "1ab")),
            "invalid user name 1ab, the first character must be a letter, but got 1: invalid parameter"
        );
        assert_eq!(
            message(username(&MILVUS_25.username, "a.b")),
            "invalid user name a.b, username must contain only numbers, letters and underscores, but got %!s(uint8=46): invalid parameter"
        );
        assert_eq!(message(username(&MILVUS_26.username, "a.b-c")), "ok");
        assert_eq!(
            message(username(&MILVUS_26.username, &"a".repeat(33))),
            format!("invalid username {} with length 33, the length of username must be less than 32: invalid parameter", "a".repeat(33))
        );
    }

    #[test]
    fn documented_usernames() {
        let rule = &DOCS.username;
        assert_eq!(message(username(rule, "user_1")), "ok");
        assert_eq!(
            message(username(rule, " user")),
            "invalid user name  user, the first character must be a letter, but got  : invalid parameter"
        );
        assert_eq!(
            message(username(rule, "usér")),
            "invalid user name usér, username must contain only numbers, letters and underscores, but got é: invalid parameter"
        );
        assert!(message(username(rule, &"a".repeat(33)))
            .contains("the length of username must be less than or equal to 32"));
    }

    #[test]
    fn server_role_names() {
        let rule = &MILVUS_24.role_name;
        let check = |n: &str| message(name(rule, n, "role name"));
        assert_eq!(check("_x$b"), "ok");
        assert_eq!(check(&"r".repeat(255)), "ok");
        assert_eq!(
            check(""),
            "role name should be not empty: invalid parameter[expected=not empty][actual=]"
        );
        assert_eq!(
            check(&"r".repeat(256)),
            "the length of role name must be not greater than limit: invalid parameter[256 out of range 0 <= value <= 255]"
        );
        assert_eq!(
            check("1-x"),
            "the first character of role name must be an underscore or letter: invalid parameter[expected=95][actual=49]"
        );
        assert_eq!(
            check("ab c"),
            "role name can only contain numbers, letters, dollars and underscores, found  at 2: invalid parameter"
        );
        assert_eq!(
            check("xd47314_üser"),
            "role name can only contain numbers, letters, dollars and underscores, found Ã at 8: invalid parameter"
        );
        assert_eq!(
            message(name(&MILVUS_26.role_name, "a-b", "role name")),
            "role name can only contain numbers, letters, underscores, and allowed characters ($), found - at 1: invalid parameter"
        );
    }

    #[test]
    fn documented_role_names() {
        let rule = &DOCS.role_name;
        let check = |n: &str| message(name(rule, n, "role name"));
        assert_eq!(check("role_a"), "ok");
        assert_eq!(
            check("_x"),
            "the first character of role name must be a letter: invalid parameter[expected=letter][actual=_]"
        );
        assert_eq!(
            check("ab$c"),
            "role name can only contain numbers, letters and underscores, found $ at 2: invalid parameter"
        );
    }

    #[test]
    fn passwords() {
        let check = |rule: &PasswordRule, p: &str| message(password(rule, p));
        assert_eq!(check(&MILVUS_24.password, "abcdef"), "ok");
        assert_eq!(check(&MILVUS_24.password, "ü".repeat(3).as_str()), "ok");
        assert_eq!(
            check(&MILVUS_24.password, "abcde"),
            "invalid password length: invalid parameter[5 out of range 6 <= value <= 256]"
        );
        assert_eq!(
            check(&MILVUS_25.password, &"a".repeat(73)),
            "invalid password length: invalid parameter[73 out of range 6 <= value <= 72]"
        );
        assert_eq!(
            password_hashable(&MILVUS_24.password, &"a".repeat(73))
                .unwrap_err()
                .to_string(),
            "encrypt password failed: bcrypt: password length exceeds 72 bytes"
        );
        assert!(password_hashable(&MILVUS_24.password, &"a".repeat(72)).is_ok());

        assert_eq!(check(&DOCS.password, "P@ssw0rd"), "ok");
        assert_eq!(check(&DOCS.password, "Passw0rd"), "ok");
        // Two classes are one too few, whichever two.
        for two in [
            "Password",
            "password1",
            "pass@word",
            "PASSWORD1",
            "12345678!",
        ] {
            assert_eq!(
                check(&DOCS.password, two),
                "invalid password, it must contain at least 3 of: uppercase letters, lowercase letters, numbers and special characters: invalid parameter[expected=3][actual=2]",
                "{two}"
            );
        }
        assert_eq!(
            check(&DOCS.password, "Pass0rd"),
            "invalid password length: invalid parameter[7 out of range 8 <= value <= 64]"
        );
        assert_eq!(
            check(&DOCS.password, "password"),
            "invalid password, it must contain at least 3 of: uppercase letters, lowercase letters, numbers and special characters: invalid parameter[expected=3][actual=1]"
        );
        assert_eq!(
            check(&DOCS.password, "Pass\u{0}w0rd"),
            "invalid password, control characters are not allowed: invalid parameter"
        );
        assert_eq!(check(&DOCS.password, &"Üü1a".repeat(16)), "ok");
    }

    /// Found by mutation testing: these were checked only from Python.
    #[test]
    fn privilege_group_and_database_names() {
        // (code, message), or (0, "ok").
        let answer = |result: Result<()>| {
            result.map_or_else(|err| (err.code(), err.to_string()), |()| (0, "ok".into()))
        };
        let group = |name: &str| answer(privilege_group_name(name));
        assert_eq!(group("_g1"), (0, "ok".into()));
        assert_eq!(group(&"g".repeat(255)), (0, "ok".into()));
        assert_eq!(
            group(""),
            (1402, "invalid privilege group name[privilegeGroup=privilege group name should not be empty]".into())
        );
        let long = "g".repeat(256);
        assert_eq!(group(&long).0, 1402);
        assert!(group(&long)
            .1
            .starts_with(&format!("{long}->255: invalid privilege group name")));
        assert_eq!(
            group("1g"),
            (1402, "1g: invalid privilege group name[privilegeGroup=the first character of a privilege group name %s must be an underscore or letter]".into())
        );
        assert_eq!(
            group("g-1"),
            (1100, "privilege group name g-1 can only contain numbers, letters and underscores: invalid parameter".into())
        );
        assert_eq!(group("gü").0, 1100);

        let db = |name: &str| answer(database_name(name));
        assert_eq!(db("_db1"), (0, "ok".into()));
        assert_eq!(db(&"d".repeat(255)), (0, "ok".into()));
        assert_eq!(
            db(""),
            (
                802,
                "database name couldn't be empty: invalid database name[database=]".into()
            )
        );
        assert_eq!(
            db(&"d".repeat(256)),
            (802, format!("the length of a database name must be less than 255 characters: invalid database name[database={}]", "d".repeat(256)))
        );
        assert_eq!(
            db("1db"),
            (802, "the first character of a database name must be an underscore or letter: invalid database name[database=1db]".into())
        );
        assert_eq!(
            db("db-1"),
            (802, "database name can only contain numbers, letters and underscores: invalid database name[database=db-1]".into())
        );
    }

    #[test]
    fn descriptions() {
        assert!(description("user", &"d".repeat(1024)).is_ok());
        assert_eq!(
            description("role", &"d".repeat(1025)).unwrap_err().to_string(),
            "invalid role description with length 1025, the length of role description must be less than or equal to 1024: invalid parameter"
        );
    }
}
