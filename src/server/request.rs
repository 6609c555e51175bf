//! Reading REST v2 request bodies as Milvus's Go handlers read them: JSON objects with camelCase fields,
//! `binding:"required"` fields (an empty string counts as missing), and Milvus's error codes 1801 and 1802.

use serde_json::{Map, Value};

use super::go_json;
use crate::wire::rest::Field;

/// Milvus's code for a body its JSON decoder refused (`ErrIncorrectParameterFormat`).
const CODE_FORMAT: i32 = 1801;
/// Milvus's code for a missing required field (`ErrMissingRequiredParameters`).
const CODE_MISSING: i32 = 1802;

/// `userName` -> `UserName`, as Go's field names are.
fn go_field(json_name: &str) -> String {
    let mut chars = json_name.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// A request body that could not be read, with Milvus's code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError {
    pub code: i32,
    pub message: String,
}

impl BodyError {
    /// Milvus's 1801 for a body its JSON decoder refused, `detail` being the decoder's error.
    pub fn undecodable(detail: impl std::fmt::Display) -> BodyError {
        BodyError {
            code: CODE_FORMAT,
            message: format!("can only accept json format request, error: {detail}"),
        }
    }
}

/// A parsed body, read field by field. `kind` is the Go request struct Milvus binds it to, which its
/// messages name.
pub struct Body {
    kind: &'static str,
    fields: Map<String, Value>,
}

fn go_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl Body {
    /// Parse `bytes` as the JSON object of a `kind` request.
    pub fn parse(kind: &'static str, bytes: &[u8]) -> Result<Body, BodyError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(BodyError {
                code: CODE_FORMAT,
                message: "can only accept json format request, the request body should be nil, however {} is valid"
                    .into(),
            });
        }
        // Go's decoder reads one value and ignores what follows it.
        let first = serde_json::Deserializer::from_slice(bytes)
            .into_iter::<Value>()
            .next()
            .unwrap_or(Ok(Value::Null));
        match first {
            Ok(Value::Object(fields)) => Ok(Body { kind, fields }),
            // Go decodes `null` into a struct as nothing at all: the binding then sees every field empty.
            Ok(Value::Null) => Ok(Body {
                kind,
                fields: Map::new(),
            }),
            Ok(other) => Err(BodyError::undecodable(format_args!(
                "json: cannot unmarshal {} into Go value of type httpserver.{kind}",
                go_kind(&other)
            ))),
            // Milvus passes on its JSON decoder's error: Go's words, not serde's.
            Err(err) => Err(BodyError::undecodable(
                go_json::syntax_error(bytes).unwrap_or_else(|| err.to_string()),
            )),
        }
    }

    fn wrong_type(&self, name: &str, value: &Value, expected: &str) -> BodyError {
        BodyError::undecodable(format_args!(
            "json: cannot unmarshal {} into Go struct field {}.{name} of type {expected}",
            go_kind(value),
            self.kind
        ))
    }

    /// Check the body against its struct's fields as Go's binding does: every type first (a decoding error),
    /// then every required field, all missing ones reported together.
    pub fn bind(&self, fields: &[Field]) -> Result<(), BodyError> {
        for field in fields {
            if field.list {
                self.texts(field.name)?;
            } else {
                self.text(field.name)?;
            }
        }
        let missing: Vec<String> = fields
            .iter()
            .filter(|field| field.required && self.text(field.name).is_ok_and(|t| t.is_empty()))
            .map(|field| {
                let field = go_field(field.name);
                format!(
                    "Key: '{}.{field}' Error:Field validation for '{field}' failed on the 'required' tag",
                    self.kind
                )
            })
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(BodyError {
            code: CODE_MISSING,
            message: format!("missing required parameters, error: {}", missing.join("\n")),
        })
    }

    /// An optional string field (`""` when absent or null).
    pub fn text(&self, name: &str) -> Result<String, BodyError> {
        match self.fields.get(name) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(text)) => Ok(text.clone()),
            Some(other) => Err(self.wrong_type(name, other, "string")),
        }
    }

    /// An optional list of strings.
    pub fn texts(&self, name: &str) -> Result<Vec<String>, BodyError> {
        match self.fields.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(text) => Ok(text.clone()),
                    other => Err(self.wrong_type(name, other, "string")),
                })
                .collect(),
            Some(other) => Err(self.wrong_type(name, other, "[]string")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::OpSpec;

    fn fields_of(operation: &str) -> Vec<Field> {
        crate::wire::rest::fields(OpSpec::named(operation).unwrap()).collect()
    }

    #[test]
    fn bodies_are_read_as_milvus_reads_them() {
        let body = Body::parse("UserRoleReq", br#"{"userName": "u", "roleName": ""}"#).unwrap();
        assert_eq!(body.text("userName").unwrap(), "u");
        assert_eq!(
            body.bind(&fields_of("grant_role")).unwrap_err().message,
            "missing required parameters, error: Key: 'UserRoleReq.RoleName' Error:Field validation for \
             'RoleName' failed on the 'required' tag"
        );
        assert_eq!(body.text("dbName").unwrap(), "");
        assert_eq!(
            Body::parse("UserReq", b"").err().unwrap().message,
            "can only accept json format request, the request body should be nil, however {} is valid"
        );
        let bad = Body::parse("UserReq", b"{oops").err().unwrap();
        assert_eq!(bad.code, 1801);
        assert_eq!(
            bad.message,
            "can only accept json format request, error: invalid character 'o' looking for beginning of object \
             key string"
        );
        let null = Body::parse("UserReq", b"null").unwrap();
        assert_eq!(
            null.bind(&fields_of("describe_user")).unwrap_err().code,
            1802
        );
        let trailing = Body::parse("RoleReq", br#"{"roleName": "r"} trailing"#).unwrap();
        assert_eq!(trailing.text("roleName").unwrap(), "r");
        let both = Body::parse("UserRoleReq", b"{}").unwrap();
        let fields = fields_of("grant_role");
        assert_eq!(
            both.bind(&fields).unwrap_err().message,
            "missing required parameters, error: Key: 'UserRoleReq.UserName' Error:Field validation for \
             'UserName' failed on the 'required' tag\nKey: 'UserRoleReq.RoleName' Error:Field validation for \
             'RoleName' failed on the 'required' tag"
        );
        let typed_first = Body::parse("PasswordReq", br#"{"password": 5}"#).unwrap();
        assert_eq!(
            typed_first
                .bind(&fields_of("create_user"))
                .unwrap_err()
                .code,
            1801
        );
        let typed = Body::parse("UserReq", br#"{"userName": 1}"#).unwrap();
        assert_eq!(
            typed.text("userName").unwrap_err().message,
            "can only accept json format request, error: json: cannot unmarshal number into Go struct field \
             UserReq.userName of type string"
        );
    }
}
