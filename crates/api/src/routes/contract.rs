//! The statuses every operation shares, added to the OpenAPI document once.
//!
//! Each handler declares what it answers itself (its success, its 409s, 422s
//! and 502s). The pipeline in front of it answers the rest, the same way for
//! every route: 401 without a valid key, 403 without the route's scope, 404
//! for an account group the key cannot reach, 400 for a path, query or body
//! that does not parse, 413 and 415 for request bodies, 414 for a request
//! target too long to read, 429 for the rate limit, 500 for a failure and 503
//! when the database cannot give a connection in time.
//! [`complete`] adds those to every operation that can get them, derived from
//! the operation's shape and the route table, so the document cannot forget
//! one (`tests/it/openapi.rs` checks the result).

use sonarly_domain::scope::{RouteAccess, route_access};
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::schema::{ArrayItems, Schema, SchemaType, Type};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response, ResponseBuilder};

/// "Not blank" as the server means it: a character that is not whitespace
/// for Rust's `char::is_whitespace` (Unicode White_Space), which trims
/// values. The schemas say `\S` where they are declared; in JSON Schema's
/// (ECMA-262) regular expressions `\S` differs from it on U+0085 (whitespace
/// for the server, not for `\s`) and U+FEFF (the reverse), so it is written
/// out (found by `.ci/fuzz`: a lead id `"\u0085"` was schema-valid yet blank).
pub const NOT_BLANK: &str =
    "[^\\t\\n\\u000B\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]";

/// Replaces each declared `\S` pattern of `doc` with [`NOT_BLANK`].
fn exact_not_blank(doc: &mut OpenApi) {
    fn walk(schema: &mut RefOr<Schema>) {
        let RefOr::T(schema) = schema else { return };
        match schema {
            Schema::Object(o) => {
                if o.pattern.as_deref() == Some("\\S") {
                    o.pattern = Some(NOT_BLANK.to_owned());
                }
                o.properties.values_mut().for_each(walk);
            }
            Schema::Array(a) => {
                if let ArrayItems::RefOrSchema(items) = &mut a.items {
                    walk(items);
                }
            }
            Schema::OneOf(x) => x.items.iter_mut().for_each(walk),
            Schema::AllOf(x) => x.items.iter_mut().for_each(walk),
            Schema::AnyOf(x) => x.items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    if let Some(components) = doc.components.as_mut() {
        components.schemas.values_mut().for_each(walk);
    }
    for item in doc.paths.paths.values_mut() {
        for (_, op) in operations_mut(item) {
            for param in op.parameters.iter_mut().flatten() {
                if let Some(schema) = param.schema.as_mut() {
                    walk(schema);
                }
            }
            for content in op.request_body.iter_mut().flat_map(|b| b.content.values_mut()) {
                if let Some(schema) = content.schema.as_mut() {
                    walk(schema);
                }
            }
        }
    }
}

/// The statuses the pipeline answers, added to each operation of `doc` that
/// can get them (a status the handler already declares keeps its own text).
pub fn complete(doc: &mut OpenApi) {
    exact_not_blank(doc);
    let description = doc.info.description.get_or_insert_with(String::new);
    if !description.contains(PROTOCOL_ANSWERS) {
        description.push_str("\n\n");
        description.push_str(PROTOCOL_ANSWERS);
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, op) in operations_mut(item) {
            let access = route_access(method, path);
            let has_input = op.parameters.as_ref().is_some_and(|p| !p.is_empty()) || op.request_body.is_some();
            if has_input {
                add(
                    op,
                    "400",
                    "Request validation failed (VALIDATION_ERROR); `error.fields` names each failing parameter or field",
                );
            }
            add(op, "401", "Invalid or missing API key (UNAUTHORIZED)");
            if let Some(RouteAccess::Scope(scope)) = access {
                add(op, "403", &format!("The API key lacks the `{scope}` permission (SCOPE_DENIED)"));
            }
            if op.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
                // hyper reads at most 65,534 bytes of request target; a query
                // within its stated lengths can still be longer once encoded
                // (a 4-byte character is 12 bytes percent-encoded).
                add(
                    op,
                    "414",
                    "The request target (path and query) is above 65,534 bytes once percent-encoded (URI_TOO_LONG)",
                );
            }
            if path.contains("{accountGroupId}") {
                add(
                    op,
                    "404",
                    "Resource not found (NOT_FOUND): the account group, or a resource named in the path, does not exist or is not accessible to this key",
                );
            }
            if let Some(body) = op.request_body.as_mut() {
                objects_only(body);
            }
            if op.request_body.is_some() {
                add(op, "413", "The request body is above 1 MiB (PAYLOAD_TOO_LARGE)");
                add(op, "415", "The request body is not JSON (UNSUPPORTED_MEDIA_TYPE)");
            }
            add(op, "429", "Rate limit exceeded (RATE_LIMIT_EXCEEDED); `Retry-After` says when to retry");
            add(op, "500", "Internal server error (INTERNAL_ERROR)");
            add(
                op,
                "503",
                "The server is busy for a moment, e.g. every database connection in use (SERVICE_UNAVAILABLE); nothing changed, retry after `Retry-After` seconds",
            );
        }
    }
}

/// An optional body is absent or a JSON object, never `null` (400 "must be a
/// JSON object"): utoipa writes `Option<T>` as `oneOf: [null, T]`, so the
/// `null` is taken out and the body stays not required.
fn objects_only(body: &mut RequestBody) {
    for content in body.content.values_mut() {
        let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema else { continue };
        let is_null = |s: &RefOr<Schema>| matches!(s, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null));
        if one_of.items.len() == 2 && one_of.items.iter().any(is_null) {
            let other = one_of.items.iter().find(|s| !is_null(s)).cloned();
            content.schema = other;
        }
    }
}

/// What any request may meet before it reaches an operation.
const PROTOCOL_ANSWERS: &str = "Besides the statuses each operation lists, any request may be answered before \
     routing with 405 METHOD_NOT_ALLOWED (a known path, another method), 408 REQUEST_TIMEOUT (headers or body \
     sent too slowly), 414 URI_TOO_LONG or 431 HEADERS_TOO_LARGE, always in the envelope with an `x-trace-id`. \
     Every authenticated answer carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`; a 429 \
     adds `Retry-After`.";

/// The operations of a path item with their HTTP method.
pub fn operations_mut(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    [
        ("GET", item.get.as_mut()),
        ("PUT", item.put.as_mut()),
        ("POST", item.post.as_mut()),
        ("DELETE", item.delete.as_mut()),
        ("PATCH", item.patch.as_mut()),
        ("HEAD", item.head.as_mut()),
        ("OPTIONS", item.options.as_mut()),
        ("TRACE", item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.map(|op| (method, op)))
    .collect()
}

fn add(op: &mut Operation, status: &str, description: &str) {
    op.responses.responses.entry(status.to_owned()).or_insert_with(|| RefOr::T(error_response(description)));
}

fn error_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", Content::new(Some(Ref::from_schema_name("ErrorEnvelope"))))
        .build()
}

/// Schemas for inputs whose bounds the derive cannot say (lists of bounded
/// strings, enum-like strings), used with `#[schema(schema_with = …)]` and
/// `#[param(schema_with = …)]`.
pub mod schemas {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    use utoipa::openapi::{Array, Object};

    /// One of `values`.
    pub fn one_of(values: &[&str], description: &str) -> Object {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(values.iter().map(|v| (*v).to_owned())))
            .description(Some(description))
            .build()
    }

    /// A list of `min..=max` strings of 1 to `item_max` characters, not blank
    /// (or null, when `nullable`).
    pub fn strings(min: usize, max: usize, item_max: usize, nullable: bool, description: &str) -> Array {
        let items = ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(item_max))
            .pattern(Some("\\S"));
        let builder =
            ArrayBuilder::new().items(items).min_items(Some(min)).max_items(Some(max)).description(Some(description));
        if nullable {
            builder.schema_type(SchemaType::from_iter([Type::Array, Type::Null])).build()
        } else {
            builder.build()
        }
    }
}
