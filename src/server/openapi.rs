//! The OpenAPI document of the served paths, built from the operation table that routes them.

use serde_json::{json, Map, Value};

use crate::ops::OPERATIONS;
use crate::wire::rest::{fields, PREFIX};

fn envelope_schema() -> Value {
    json!({
        "type": "object",
        "required": ["code"],
        "properties": {
            "code": {"type": "integer", "description": "0 on success; Milvus's error code otherwise"},
            "data": {"description": "the result, on success"},
            "message": {"type": "string", "description": "Milvus's error message, on failure"}
        }
    })
}

/// OpenAPI 3.0 for every RBAC path of Milvus's REST API v2 that this server serves.
pub fn openapi_document() -> Value {
    let mut paths = Map::new();
    for spec in OPERATIONS {
        let Some(route) = spec.rest else { continue };
        let mut properties = Map::new();
        let mut required = Vec::new();
        for field in fields(spec) {
            let schema = if field.list {
                json!({"type": "array", "items": {"type": "string"}})
            } else {
                json!({"type": "string"})
            };
            properties.insert(field.name.to_string(), schema);
            if field.required {
                required.push(field.name.to_string());
            }
        }
        let mut body = json!({"type": "object", "properties": properties});
        if !required.is_empty() {
            body["required"] = json!(required);
        }
        paths.insert(
            format!("{PREFIX}{}", route.path),
            json!({
                "post": {
                    "summary": spec.summary(),
                    "description": format!("pymilvus: MilvusClient.{}", spec.name),
                    "operationId": route.path.trim_start_matches('/').replace('/', "_"),
                    "requestBody": {"required": true, "content": {"application/json": {"schema": body}}},
                    "responses": {
                        "200": {"description": "success, or a Milvus error in the envelope",
                                "content": {"application/json": {"schema": envelope_schema()}}},
                        "401": {"description": "missing or wrong credentials (code 1800)"},
                        "403": {"description": "permission denied (code 65535)"},
                        "413": {"description": "request body over 1 MiB"}
                    }
                }
            }),
        );
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "milvus-rbac: Milvus RESTful API v2, users, roles and privileges",
            "version": env!("CARGO_PKG_VERSION")
        },
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "user:password"},
            "basic": {"type": "http", "scheme": "basic"}
        }},
        "security": [{"bearer": []}, {"basic": []}],
        "paths": paths
    })
}
