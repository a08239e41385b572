//! Templates (spec 2.7): writing styles, value propositions and signal
//! specifications. Reads need `templates:read`; create, update and delete need
//! `templates:write`. All operations are synchronous; `Idempotency-Key` is not
//! supported (and ignored) on these routes, as documented.

pub mod signal_specifications;
pub mod value_propositions;
pub mod writing_styles;

use crate::envelope::ok;
use axum::response::Response;
use serde::Serialize;
use sonarly_domain::composer::Channel;
use sonarly_domain::template::{ContentType, SampleType, SignalSource};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder, Type};

/// `DeletedSuccessResponse.data`.
#[derive(Serialize, ToSchema)]
pub struct DeletedView {
    /// Always true.
    pub deleted: bool,
}

pub(crate) fn deleted() -> Response {
    ok(DeletedView { deleted: true })
}

fn string_enum(description: &str, values: Vec<&'static str>) -> Object {
    ObjectBuilder::new().schema_type(Type::String).description(Some(description)).enum_values(Some(values)).build()
}

pub(crate) fn content_type_schema() -> Object {
    string_enum("What the writing style writes.", ContentType::ALL.iter().map(|c| c.as_str()).collect())
}

pub(crate) fn sample_type_schema() -> Object {
    string_enum("Which situation the sample is written for.", SampleType::ALL.iter().map(|t| t.as_str()).collect())
}

pub(crate) fn channel_schema() -> Object {
    string_enum("Where the composed content is sent.", Channel::ALL.iter().map(|c| c.as_str()).collect())
}

pub(crate) fn sources_schema() -> utoipa::openapi::schema::Array {
    ArrayBuilder::new()
        .items(string_enum("A signal source.", SignalSource::ALL.iter().map(|s| s.as_str()).collect()))
        .description(Some("The sources the specification watches."))
        .build()
}
