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
        .min_items(Some(1))
        .max_items(Some(sonarly_app::templates::MAX_SOURCES))
        .description(Some("The sources the specification watches (1 to 50 entries; a source named twice counts once)."))
        .build()
}

use crate::routes::contract::schemas::strings;
use sonarly_domain::template::{
    MAX_RULES, MAX_VALUE_ITEMS, MAX_VALUE_PROPOSITION_IDS, REFERENCE_ID_MAX_CHARS, RULE_MAX_CHARS, VALUE_ITEM_MAX_CHARS,
};

const RULES: &str = "Phrases (up to 50, each 1 to 500 characters).";
const VALUE_ITEMS: &str = "Up to 50 entries, each 1 to 1,000 characters.";
const VP_IDS: &str = "Value propositions of the same account group (up to 50 ids of 1 to 100 characters; \
                      repeats counted once; one that names nothing here is 400).";

pub(crate) fn rules_schema() -> utoipa::openapi::schema::Array {
    strings(0, MAX_RULES, RULE_MAX_CHARS, false, RULES)
}

pub(crate) fn rules_or_null_schema() -> utoipa::openapi::schema::Array {
    strings(0, MAX_RULES, RULE_MAX_CHARS, true, RULES)
}

pub(crate) fn value_items_schema() -> utoipa::openapi::schema::Array {
    strings(0, MAX_VALUE_ITEMS, VALUE_ITEM_MAX_CHARS, false, VALUE_ITEMS)
}

pub(crate) fn value_items_or_null_schema() -> utoipa::openapi::schema::Array {
    strings(0, MAX_VALUE_ITEMS, VALUE_ITEM_MAX_CHARS, true, VALUE_ITEMS)
}

pub(crate) fn vp_ids_schema() -> utoipa::openapi::schema::Array {
    strings(0, MAX_VALUE_PROPOSITION_IDS, REFERENCE_ID_MAX_CHARS, false, VP_IDS)
}

pub(crate) fn vp_ids_or_null_schema() -> utoipa::openapi::schema::Array {
    strings(0, MAX_VALUE_PROPOSITION_IDS, REFERENCE_ID_MAX_CHARS, true, VP_IDS)
}
