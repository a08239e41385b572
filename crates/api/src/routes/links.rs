//! OpenAPI links: from each answer that creates a resource to the operations
//! that read, change, act on or delete it, from each change or delete to the
//! read of the same resource, and from a create to the creates of other
//! families that take the new id in their body.
//!
//! A link says where a path parameter of the next operation comes from (the
//! created id in the answer's `data`, or the path of the request just made),
//! so a client, a code generator or a stateful fuzzer (`.ci/fuzz`) can follow
//! a resource from its creation to its deletion without guessing ids.

use super::contract::operations_mut;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::{OpenApi, RefOr, Response};

/// One family of operations around one kind of resource.
struct Family {
    /// The operations (and statuses) whose answer creates the resource.
    created_by: &'static [(&'static str, &'static [&'static str])],
    /// Where the answer holds the new id.
    id: &'static str,
    /// The path parameter that names the resource.
    param: &'static str,
    /// Operations on one resource, taking `param`.
    on_one: &'static [&'static str],
    /// Operations after which the resource should be read again (changes,
    /// deletes), and the read.
    then_read: &'static [&'static str],
    read: &'static str,
}

const FAMILIES: &[Family] = &[
    Family {
        created_by: &[("create_audience", &["201"])],
        id: "/data/id",
        param: "audienceId",
        on_one: &[
            "get_audience",
            "update_audience",
            "delete_audience",
            "move_to_folder",
            "remove_from_folder",
            "list_audience_prospects",
        ],
        then_read: &["update_audience", "delete_audience", "move_to_folder", "remove_from_folder"],
        read: "get_audience",
    },
    Family {
        created_by: &[("create_folder", &["201"])],
        id: "/data/id",
        param: "folderId",
        on_one: &["rename_folder"],
        then_read: &[],
        read: "rename_folder",
    },
    Family {
        created_by: &[("create_campaign", &["201"]), ("duplicate_campaign", &["201"])],
        id: "/data/id",
        param: "campaignId",
        on_one: &[
            "get_campaign",
            "duplicate_campaign",
            "list_content_slots",
            "start_campaign",
            "stop_campaign",
            "lead_status",
        ],
        then_read: &["start_campaign", "stop_campaign"],
        read: "get_campaign",
    },
    Family {
        created_by: &[("queue_response", &["202"])],
        id: "/data/id",
        param: "responseId",
        on_one: &["get_response", "cancel_response"],
        then_read: &["cancel_response"],
        read: "get_response",
    },
    Family {
        created_by: &[("start_job", &["202"])],
        id: "/data/jobId",
        param: "jobId",
        on_one: &["get_job", "cancel_job"],
        then_read: &["cancel_job"],
        read: "get_job",
    },
    Family {
        created_by: &[("start_scan", &["202"])],
        id: "/data/scanId",
        param: "scanId",
        on_one: &["get_scan", "cancel_scan"],
        then_read: &["cancel_scan"],
        read: "get_scan",
    },
    Family {
        created_by: &[("create_signal_specification", &["201"])],
        id: "/data/id",
        param: "specificationId",
        on_one: &["get_signal_specification", "update_signal_specification", "delete_signal_specification"],
        then_read: &["update_signal_specification", "delete_signal_specification"],
        read: "get_signal_specification",
    },
    Family {
        created_by: &[("create_value_proposition", &["201"])],
        id: "/data/id",
        param: "valuePropositionId",
        on_one: &["get_value_proposition", "update_value_proposition", "delete_value_proposition"],
        then_read: &["update_value_proposition", "delete_value_proposition"],
        read: "get_value_proposition",
    },
    Family {
        created_by: &[("create_writing_style", &["201"])],
        id: "/data/id",
        param: "writingStyleId",
        on_one: &["get_writing_style", "update_writing_style", "delete_writing_style", "preview_writing_style"],
        then_read: &["update_writing_style", "delete_writing_style"],
        read: "get_writing_style",
    },
    Family {
        created_by: &[("create_endpoint", &["201"])],
        id: "/data/id",
        param: "endpointId",
        on_one: &[
            "get_endpoint",
            "update_endpoint",
            "delete_endpoint",
            "rotate_secret",
            "test_endpoint",
            "list_attempts",
        ],
        then_read: &["update_endpoint", "delete_endpoint", "rotate_secret"],
        read: "get_endpoint",
    },
    Family {
        created_by: &[("connect_linkedin_account", &["201"])],
        id: "/data/id",
        param: "linkedinAccountId",
        on_one: &["reconnect_link", "solve_checkpoint", "register_webhooks"],
        then_read: &[],
        read: "reconnect_link",
    },
];

/// A link that is not "one resource of a family".
struct Extra {
    source: &'static str,
    status: &'static str,
    target: &'static str,
    params: &'static [(&'static str, &'static str)],
}

/// The test event an endpoint was sent can be delivered again.
const EXTRA: &[Extra] = &[Extra {
    source: "test_endpoint",
    status: "202",
    target: "redeliver",
    params: &[("endpointId", "$request.path.endpointId"), ("eventId", "$response.body#/data/eventId")],
}];

/// A created resource handed to another family's create in its body: the
/// audience a campaign or a scan runs on, the value proposition a writing
/// style or a signal specification uses, the specification a scan applies.
/// Schemathesis merges the body into the one it generates.
const IN_BODY: &[(&str, &str, &str)] = &[
    ("create_audience", "create_campaign", r#"{"audienceId": "$response.body#/data/id"}"#),
    ("create_audience", "start_scan", r#"{"audienceId": "$response.body#/data/id"}"#),
    ("create_signal_specification", "start_scan", r#"{"signalSpecificationId": "$response.body#/data/id"}"#),
    ("create_value_proposition", "create_writing_style", r#"{"valuePropositionId": "$response.body#/data/id"}"#),
    (
        "create_value_proposition",
        "create_signal_specification",
        r#"{"valuePropositionIds": ["$response.body#/data/id"], "useValueProposition": true}"#,
    ),
];

/// One link to add: from `source`'s answer `status` to `target`, with the
/// parameters given explicitly (the others come from the request's path).
struct Planned {
    source: &'static str,
    status: &'static str,
    target: &'static str,
    given: Vec<(&'static str, String)>,
    body: Option<serde_json::Value>,
}

/// Adds the links of [`FAMILIES`] and [`EXTRA`] to `doc`. Every path
/// parameter of the target is given: `accountGroupId` and the others from the
/// request's path, the family's parameter from the answer (after a create) or
/// from the request's path (after a change or delete).
pub fn add(doc: &mut OpenApi) {
    let mut links = Vec::new();
    for family in FAMILIES {
        for (source, statuses) in family.created_by {
            for status in *statuses {
                for target in family.on_one {
                    let given = vec![(family.param, format!("$response.body#{}", family.id))];
                    links.push(Planned { source, status, target, given, body: None });
                }
            }
        }
        for source in family.then_read {
            let given = vec![(family.param, format!("$request.path.{}", family.param))];
            links.push(Planned { source, status: "200", target: family.read, given, body: None });
        }
    }
    for extra in EXTRA {
        let given = extra.params.iter().map(|(n, v)| (*n, (*v).to_owned())).collect();
        links.push(Planned { source: extra.source, status: extra.status, target: extra.target, given, body: None });
    }
    for (source, target, body) in IN_BODY {
        let body = serde_json::from_str(body).expect("a link body is JSON");
        links.push(Planned { source, status: "201", target, given: Vec::new(), body: Some(body) });
    }
    let path_params = path_parameters(doc);
    for Planned { source, status, target, given, body } in links {
        let Some(target_params) = path_params.iter().find(|(id, _)| id == target).map(|(_, p)| p) else {
            continue;
        };
        let mut parameters = serde_json::Map::new();
        for name in target_params {
            let value = match given.iter().find(|(n, _)| n == name) {
                Some((_, value)) => value.clone(),
                None => format!("$request.path.{name}"),
            };
            parameters.insert(name.clone(), value.into());
        }
        let mut link = serde_json::json!({ "operationId": target, "parameters": parameters });
        if let Some(body) = body {
            link["requestBody"] = body;
        }
        with_operation(doc, source, |op| {
            if let Some(RefOr::T(response)) = op.responses.responses.get_mut(status) {
                add_link(response, target, link);
            }
        });
    }
}

/// Adds `link` under `name` to the answer's links. utoipa 5.5 writes the
/// fields of its `Link` in snake case (`operation_id`, `request_body`), not as
/// OpenAPI names them, so the links are written as JSON through the answer's
/// (flattened) extensions: one `links` entry, an object in a stable order.
fn add_link(response: &mut Response, name: &str, link: serde_json::Value) {
    let extensions = response.extensions.get_or_insert_with(Extensions::default);
    let links = extensions.entry("links".to_owned()).or_insert_with(|| serde_json::json!({}));
    if let Some(links) = links.as_object_mut() {
        links.insert(name.to_owned(), link);
    }
}

/// Each operation's id with the names of its path parameters.
fn path_parameters(doc: &mut OpenApi) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for item in doc.paths.paths.values_mut() {
        for (_, op) in operations_mut(item) {
            let Some(id) = op.operation_id.clone() else { continue };
            let names = op
                .parameters
                .iter()
                .flatten()
                .filter(|p| p.parameter_in == utoipa::openapi::path::ParameterIn::Path)
                .map(|p| p.name.clone())
                .collect();
            out.push((id, names));
        }
    }
    out
}

fn with_operation(doc: &mut OpenApi, operation_id: &str, f: impl FnOnce(&mut utoipa::openapi::path::Operation)) {
    for item in doc.paths.paths.values_mut() {
        for (_, op) in operations_mut(item) {
            if op.operation_id.as_deref() == Some(operation_id) {
                f(op);
                return;
            }
        }
    }
}
