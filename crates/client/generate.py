#!/usr/bin/env python3
"""Writes src/types.rs and src/routes.rs of sonarly-client from docs/openapi.json.

Run from the repository root after the OpenAPI document changes:

    python3 crates/client/generate.py && cargo fmt -p sonarly-client

`tests/it/routes.rs` fails when a route of docs/openapi.json has no client method,
so a new route cannot be forgotten.
"""

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPEC = json.loads((ROOT / "docs/openapi.json").read_text())
SCHEMAS = SPEC["components"]["schemas"]
OUT = Path(__file__).resolve().parent / "src"

# Enums named by where they appear: (schema or operation, field) -> Rust name.
ENUM_NAMES = {
    ("CreateAudienceBody", "type"): "AudienceType",
    ("CreateFolderBody", "audienceType"): "AudienceType",
    ("CreateCampaignBody", "starterTemplateId"): "StarterTemplateId",
    ("CreateEndpointBody", "eventTypes"): "EventType",
    ("UpdateEndpointBody", "eventTypes"): "EventType",
    ("CreateSignalSpecificationBody", "sources"): "SignalSource",
    ("UpdateSignalSpecificationBody", "sources"): "SignalSource",
    ("SignalSpecificationView", "sources"): "SignalSource",
    ("CreateWritingStyleBody", "contentType"): "ContentType",
    ("UpdateWritingStyleBody", "contentType"): "ContentType",
    ("WritingStyleView", "contentType"): "ContentType",
    ("PreviewBody", "channel"): "PreviewChannel",
    ("PreviewView", "sampleType"): "SampleType",
    ("SampleBody", "type"): "SampleType",
    ("SampleView", "type"): "SampleType",
    ("QueueResponseBody", "channel"): "ResponseChannel",
    ("StartJobBody", "type"): "SourceType",
    ("list_campaigns", "status"): "CampaignStatus",
    ("list_responses", "status"): "ResponseStatus",
    ("list_jobs", "status"): "JobStatus",
    ("list_scans", "status"): "ScanStatus",
    ("get_quota", "listType"): "ListType",
    ("ScheduledResponseView", "deferredReason"): "DeferredReason",
}
# String fields of responses typed with one of those enums (an unknown value
# decodes as `Other`).
STATUS_FIELDS = {
    ("CampaignView", "status"): "CampaignStatus",
    ("ScheduledResponseView", "status"): "ResponseStatus",
    ("ScheduledResponseView", "channel"): "ResponseChannel",
    ("JobStatusView", "status"): "JobStatus",
    ("JobListItemView", "status"): "JobStatus",
    ("JobStartView", "status"): "JobStatus",
    ("JobCancelView", "status"): "JobStatus",
    ("ScanStatusView", "status"): "ScanStatus",
    ("ScanListItemView", "status"): "ScanStatus",
    ("ScanStartView", "status"): "ScanStatus",
    ("ScanCancelView", "status"): "ScanStatus",
}
ENUM_DOCS = {
    "AudienceType": "What kind of audience (or folder) it is.",
    "StarterTemplateId": "A starter template a campaign is created from.",
    "EventType": "An event type (of the event log and of webhook deliveries).",
    "SignalSource": "A signal source.",
    "ContentType": "What a writing style writes.",
    "PreviewChannel": "The channel a preview is written for.",
    "SampleType": "The kind of a writing-style sample.",
    "ResponseChannel": "The channel of a scheduled response.",
    "SourceType": "Where the prospects of a prospecting job come from.",
    "CampaignStatus": "A campaign status.",
    "ResponseStatus": "A scheduled response status.",
    "JobStatus": "A prospecting job status.",
    "ScanStatus": "A signal scan status.",
    "ListType": "Which search quota.",
    "DeferredReason": "Why a scheduled response waits (the safety rule that last moved it).",
}

KEYWORDS = {"type": "kind", "ref": "r#ref", "match": "r#match", "move": "r#move", "use": "r#use", "where": "r#where"}

enums = {}  # name -> values


def snake(name):
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).replace("-", "_").lower()
    return KEYWORDS.get(s, s)


def pascal(value):
    parts = re.split(r"[^A-Za-z0-9]+", value)
    return "".join(p[:1].upper() + p[1:].lower() for p in parts if p)


def doc(text, indent=""):
    if not text:
        return ""
    lines = text.strip().replace("\u2026", "…").split("\n")
    return "".join(f"{indent}/// {l}".rstrip() + "\n" for l in lines)


def ref_name(ref):
    return ref.rsplit("/", 1)[1]


def nullable(p):
    t = p.get("type")
    if isinstance(t, list) and "null" in t:
        return True
    if "oneOf" in p and any(x.get("type") == "null" for x in p["oneOf"]):
        return True
    return False


def enum_for(owner, field, values):
    name = ENUM_NAMES.get((owner, field))
    if name is None:
        sys.exit(f"name the enum of {owner}.{field} in ENUM_NAMES")
    if name in enums and enums[name] != values:
        sys.exit(f"enum {name} has two value sets")
    enums[name] = values
    return name


def rust_type(owner, field, p):
    """The Rust type of schema `p` (without the Option of a nullable)."""
    if "$ref" in p:
        return ref_name(p["$ref"])
    if "oneOf" in p:
        inner = [x for x in p["oneOf"] if x.get("type") != "null"]
        return rust_type(owner, field, inner[0])
    if "enum" in p:
        return enum_for(owner, field, p["enum"])
    t = p.get("type")
    if isinstance(t, list):
        t = [x for x in t if x != "null"][0]
    if (owner, field) in STATUS_FIELDS and t == "string":
        return STATUS_FIELDS[(owner, field)]
    if t == "string":
        return "String"
    if t == "boolean":
        return "bool"
    if t == "integer":
        return "i64"
    if t == "number":
        return "f64"
    if t == "object" or t is None:
        return "serde_json::Value"
    if t == "array":
        items = p.get("items", {})
        if not items:
            return "Vec<serde_json::Value>"
        return f"Vec<{rust_type(owner, field, items)}>"
    sys.exit(f"unknown type {p} at {owner}.{field}")


def gen_struct(name, schema):
    is_body = name.endswith("Body")
    out = []
    extra = []
    props = {}
    required = set()
    flatten = None
    if "allOf" in schema:
        base, own = schema["allOf"]
        flatten = ref_name(base["$ref"])
        props = own.get("properties", {})
        required = set(own.get("required", []))
    else:
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
    description = schema.get("description") or f"`{name}` of the API."
    out.append(doc(description))
    derives = ["Debug", "Clone", "PartialEq", "Serialize", "Deserialize"]
    all_optional = all(f not in required for f in props) and flatten is None
    if is_body and all_optional:
        derives.append("Default")
    out.append(f"#[derive({', '.join(derives)})]\n")
    out.append('#[serde(rename_all = "camelCase")]\n')
    if is_body and schema.get("additionalProperties") is False:
        pass  # the server refuses unknown fields; the client never sends any
    if not is_body:
        out.append("#[non_exhaustive]\n")
    out.append(f"pub struct {name} {{\n")
    if flatten:
        out.append(f"    /// The fields of [`{flatten}`].\n")
        out.append("    #[serde(flatten)]\n")
        out.append(f"    pub {snake(flatten.removesuffix('View'))}: {flatten},\n")
    for field, p in sorted(props.items(), key=lambda kv: (kv[0] not in required, kv[0])):
        inner = p
        if "oneOf" in p:
            inner = next(x for x in p["oneOf"] if x.get("type") != "null")
        d = p.get("description") or inner.get("description") or auto_doc(field)
        ty = rust_type(name, field, p)
        rname = snake(field)
        attrs = []
        if rname != snake_plain(field) and not rname.startswith("r#"):
            attrs.append(f'rename = "{field}"')
        opt = nullable(p) or field not in required
        if is_body:
            clears = nullable(p) and field not in required and name.startswith("Update") and "null" in d
            if clears:
                ty = f"Option<Option<{ty}>>"
                attrs.append('default, skip_serializing_if = "Option::is_none"')
                d += "\n\n`Some(None)` sends `null`; `None` leaves the field out."
            elif opt:
                ty = f"Option<{ty}>"
                attrs.append('default, skip_serializing_if = "Option::is_none"')
        else:
            if opt:
                ty = f"Option<{ty}>"
                attrs.append("default")
        out.append(doc(d, "    "))
        if attrs:
            out.append(f"    #[serde({', '.join(attrs)})]\n")
        out.append(f"    pub {rname}: {ty},\n")
    out.append("}\n\n")
    if is_body and not all_optional:
        req = [(f, props[f]) for f in schema.get("required", [])]
        args = []
        inits = []
        for f, p in req:
            ty = rust_type(name, f, p)
            if ty == "String":
                args.append(f"{snake(f)}: impl Into<String>")
                inits.append(f"{snake(f)}: {snake(f)}.into()")
            else:
                args.append(f"{snake(f)}: {ty}")
                inits.append(snake(f))
        for f, p in sorted(props.items()):
            if f not in required:
                inits.append(f"{snake(f)}: None")
        out.append(f"impl {name} {{\n    /// A body with its required fields; set the optional ones with struct update syntax.\n")
        out.append(f"    pub fn new({', '.join(args)}) -> Self {{\n        Self {{ {', '.join(inits)} }}\n    }}\n}}\n\n")
    return "".join(out)


def auto_doc(field):
    """A sentence for a field the document does not describe, from its name."""
    words = snake_plain(field).replace("_", " ")
    if field == "id":
        return "Its id (`id`)."
    if field.endswith("At"):
        return f"{words[:-3].capitalize()} at: an RFC 3339 timestamp, UTC (`{field}`)."
    if field.endswith("Id") or field.endswith("Ids"):
        return f"The {words.replace(' ids', ' ids').replace(' id', ' id')} (`{field}`)."
    if field.startswith("is") and field[2:3].isupper():
        return f"Whether it is {words[3:]} (`{field}`)."
    return f"The {words} (`{field}`)."


def snake_plain(name):
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).replace("-", "_").lower()


def gen_types():
    parts = []
    for name in sorted(SCHEMAS):
        if name.startswith("Envelope_") or name in ("ErrorEnvelope", "ErrorBody", "FieldIssueBody"):
            continue
        parts.append(gen_struct(name, SCHEMAS[name]))
    return parts


# ---------------------------------------------------------------- routes

PREFIX = "/v1/accounts/{accountGroupId}"


def data_type(op):
    for code, r in op["responses"].items():
        if code.startswith("2"):
            ref = ref_name(r["content"]["application/json"]["schema"]["$ref"])
            inner = ref.removeprefix("Envelope_")
            if inner.startswith("ListData_"):
                return ("page", inner.removeprefix("ListData_"))
            return ("one", inner)
    sys.exit(f"no success response for {op['operationId']}")


def gen_routes():
    methods = []
    routes = []
    params_structs = []
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            op_id = op["operationId"]
            routes.append((method.upper(), path))
            path_args = re.findall(r"\{(\w+)\}", path)
            query = [x for x in op.get("parameters", []) if x["in"] == "query"]
            idem = any(x["in"] == "header" and x["name"] == "Idempotency-Key" for x in op.get("parameters", []))
            body = None
            rb = op.get("requestBody", {}).get("content", {}).get("application/json")
            if rb:
                body = ref_name(rb["schema"]["$ref"])
            kind, data = data_type(op)
            paged = any(x["name"] == "cursor" for x in query)
            extra_query = [x for x in query if x["name"] not in ("cursor", "limit")]
            params = None
            if paged and not extra_query:
                params = "ListParams"
            elif query:
                params = pascal(op_id) + "Params"
                fields = []
                if paged:
                    fields.append("    /// Where the page starts: a `nextCursor`, or the id of an item of this list.\n    pub cursor: Option<String>,\n")
                    fields.append("    /// Items per page (1 to 100; the server's default is 20).\n    pub limit: Option<u32>,\n")
                for x in extra_query:
                    schema = x["schema"]
                    ty = rust_type(op_id, x["name"], schema) if "enum" in schema else (
                        "u32" if schema.get("type") == "integer" else "String")
                    if not x.get("required"):
                        ty = f"Option<{ty}>"
                    d = x.get("description") or schema.get("description") or f"`{x['name']}`."
                    fields.append(doc(d, "    ") + f"    pub {snake(x['name'])}: {ty},\n")
                all_opt = all(not x.get("required") for x in extra_query)
                derive = "Debug, Clone, Default, PartialEq" if all_opt else "Debug, Clone, PartialEq"
                pairs = []
                if paged:
                    pairs.append('        if let Some(v) = &self.cursor { q.push(("cursor", v.clone())); }\n')
                    pairs.append('        if let Some(v) = self.limit { q.push(("limit", v.to_string())); }\n')
                for x in extra_query:
                    f = snake(x["name"])
                    if x.get("required"):
                        pairs.append(f'        q.push(("{x["name"]}", self.{f}.to_string()));\n')
                    else:
                        pairs.append(f'        if let Some(v) = &self.{f} {{ q.push(("{x["name"]}", v.to_string())); }}\n')
                params_structs.append(
                    f"/// Query parameters of [`Client::{op_id}`].\n#[derive({derive})]\npub struct {params} {{\n"
                    + "".join(fields) + "}\n\n"
                    + f"impl {params} {{\n    #[allow(clippy::vec_init_then_push)]\n    pub(crate) fn to_query(&self) -> Vec<(&'static str, String)> {{\n        #[allow(unused_mut)]\n        let mut q = Vec::new();\n"
                    + "".join(pairs) + "        q\n    }\n}\n\n"
                )
                if paged:
                    params_structs.append(
                        f"impl Paged for {params} {{\n    fn with_cursor(&self, cursor: Option<String>) -> Self {{\n        Self {{ cursor, ..self.clone() }}\n    }}\n    fn cursor(&self) -> Option<String> {{\n        self.cursor.clone()\n    }}\n    fn query(&self) -> Vec<(&'static str, String)> {{\n        self.to_query()\n    }}\n}}\n\n"
                    )
            ret = f"Page<{data}>" if kind == "page" else data
            args = "".join(f", {snake(a)}: &str" for a in path_args)
            call_args = "".join(f", {snake(a)}" for a in path_args)
            if params:
                args += f", params: &{params}"
            if body:
                args += f", body: &{body}"
            fmt_path = re.sub(r"\{(\w+)\}", lambda m: "{}", path)
            seg_args = ", ".join(f"seg({snake(a)})" for a in path_args)
            path_expr = f'format!("{fmt_path}", {seg_args})' if path_args else f'"{path}".to_owned()'
            query_expr = "params.to_query()" if params else "Vec::new()"
            body_expr = "Some(serde_json::to_value(body).map_err(Error::encode)?)" if body else "None"
            summary = op.get("summary") or op_id
            desc = op.get("description")
            d = doc(summary, "    ")
            if desc:
                d += "    ///\n" + doc(desc, "    ")
            d += f"    ///\n    /// `{method.upper()} {path}`"
            if idem:
                d += " (sent with a generated `Idempotency-Key`, so it is retried safely; see\n    /// [`Client::" + op_id + "_with_idempotency_key`] to choose the key)"
            d += ".\n"
            m = method.upper()
            idem_expr = "Some(generate_idempotency_key())" if idem else "None"
            methods.append(
                d
                + f"    pub async fn {op_id}(&self{args}) -> Result<{ret}, Error> {{\n"
                + (f"        self.{op_id}_with_idempotency_key({call_args.lstrip(', ')}{', params' if params else ''}{', body' if body else ''}, &generate_idempotency_key()).await\n    }}\n\n" if idem else
                   f"        self.call(Method::{m}, {path_expr}, {query_expr}, {body_expr}, None).await\n    }}\n\n")
            )
            if idem:
                methods.append(
                    f"    /// [`Client::{op_id}`] with the caller's `Idempotency-Key` (1 to 256 visible ASCII\n"
                    f"    /// characters): a repeat with the same key and body answers the original request, even\n"
                    f"    /// from another process.\n"
                    f"    pub async fn {op_id}_with_idempotency_key(&self{args}, idempotency_key: &str) -> Result<{ret}, Error> {{\n"
                    f"        self.call(Method::{m}, {path_expr}, {query_expr}, {body_expr}, Some(idempotency_key.to_owned())).await\n    }}\n\n"
                )
            if kind == "one" and paged:
                items = SCHEMAS[data].get("properties", {}).get("items", {}).get("items", {})
                if "nextCursor" in SCHEMAS[data].get("properties", {}) and "$ref" in items:
                    kind, data, ret = "page", ref_name(items["$ref"]), data
            if kind == "page" and paged:
                methods.append(
                    f"    /// Every item of [`Client::{op_id}`], page after page (following `nextCursor`), from\n"
                    f"    /// `params.cursor` on; `params.limit` sets the page size. An error ends the stream.\n"
                    f"    pub fn {op_id}_stream(&self{args.replace('params: &', 'params: ')}) -> impl Stream<Item = Result<{data}, Error>> + Send + 'static {{\n"
                    f"        let path = {path_expr};\n"
                    f"        self.paginate(path, params)\n    }}\n\n"
                )
    return methods, routes, params_structs


def main():
    types = gen_types()
    methods, routes, params_structs = gen_routes()
    enum_src = []
    for name in sorted(enums):
        variants = "".join(f'    {pascal(v)} => "{v}",\n' for v in enums[name])
        enum_src.append(f"string_enum! {{\n    /// {ENUM_DOCS[name]}\n    {name} {{\n{variants}    }}\n}}\n\n")
    header = "// @generated by crates/client/generate.py from docs/openapi.json: edit the generator, not this file.\n\n"
    (OUT / "types.rs").write_text(
        header
        + "//! Requests and responses of every route, as in `docs/openapi.json` (camelCase on the wire).\n//!\n"
        + "//! Responses ignore fields they do not know and decode an unknown enum value as `Other`, so a\n"
        + "//! newer server does not break an older client.\n\n"
        + "use serde::{Deserialize, Serialize};\n\n"
        + "".join(enum_src)
        + "".join(types)
    )
    route_consts = "".join(f'    ("{m}", "{p}"),\n' for m, p in routes)
    (OUT / "routes.rs").write_text(
        header
        + "//! One method per route of `docs/openapi.json`.\n\n"
        + "use crate::types::*;\nuse crate::{Client, Error, ListParams, Page, Paged, generate_idempotency_key, seg};\n"
        + "use futures_core::Stream;\nuse reqwest::Method;\n\n"
        + "/// Every route the client calls, as `(method, path template)`: the same set as `docs/openapi.json`.\n"
        + f"pub const ROUTES: &[(&str, &str)] = &[\n{route_consts}];\n\n"
        + "".join(params_structs)
        + "impl Client {\n" + "".join(methods) + "}\n"
    )


main()
