//! The client calls every route of `docs/openapi.json` and nothing else: a new route
//! without a client method fails here (regenerate with `crates/client/generate.py`).

use std::collections::BTreeSet;

#[test]
fn client_routes_match_the_openapi_document() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    let text = std::fs::read_to_string(path).expect("docs/openapi.json");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("OpenAPI JSON");
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let implemented: BTreeSet<(String, String)> =
        sonarly_client::ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    let missing: Vec<_> = documented.difference(&implemented).collect();
    let extra: Vec<_> = implemented.difference(&documented).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "routes without a client method: {missing:?}; client methods without a route: {extra:?} \
         (run `python3 crates/client/generate.py && cargo fmt -p sonarly-client`)"
    );
    assert_eq!(implemented.len(), sonarly_client::ROUTES.len(), "a route is listed twice");
}
