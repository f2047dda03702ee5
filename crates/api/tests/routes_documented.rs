//! The router and the OpenAPI table name the same operations. The table is
//! what the authorization matrix walks and what clients read, so a route
//! missing from it would be served untested and undocumented, and an entry
//! missing from the router would document a route that answers 404.
//!
//! axum's `Router` does not list its routes, so this reads the router's
//! source (`src/lib.rs`): every `.route("path", method(handler)…)` call.

use std::collections::BTreeSet;

use citywatch_api::OPERATIONS;

/// Routes that serve the console's files, not the API: not in the table.
const CONSOLE_FILES: [(&str, &str); 3] = [("get", "/"), ("get", "/terminal"), ("get", "/assets/{*path}")];

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// (method, path) of every `.route(…)` call in the router's source.
fn routed(source: &str) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for call in source.split(".route(").skip(1) {
        let call = call.trim_start();
        let Some(rest) = call.strip_prefix('"') else { continue };
        let Some(end) = rest.find('"') else { continue };
        let (path, handlers) = (&rest[..end], &rest[end + 1..]);
        // The handlers run to the call's closing parenthesis: count depth.
        let mut depth = 1usize;
        let mut stop = handlers.len();
        for (i, c) in handlers.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        stop = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let handlers = &handlers[..stop];
        for method in METHODS {
            // `get(` at the start of the handler chain or after a `.`, not
            // inside another name (`target(`, `max(`).
            let call = format!("{method}(");
            let calls = handlers.match_indices(&call).filter(|(i, _)| {
                let before = handlers[..*i].trim_end();
                before.ends_with(',') || before.ends_with('.')
            });
            if calls.count() > 0 {
                found.insert((method.to_owned(), path.to_owned()));
            }
        }
    }
    found
}

#[test]
fn the_router_serves_exactly_the_documented_operations() {
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lib.rs")).unwrap();
    let routed = routed(&source);
    assert!(routed.len() > 50, "the router's routes were not found in src/lib.rs: {routed:?}");
    let documented: BTreeSet<(String, String)> = OPERATIONS.iter().map(|op| (op.method.to_owned(), op.path.to_owned())).collect();
    let files: BTreeSet<(String, String)> = CONSOLE_FILES.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
    let api: BTreeSet<_> = routed.difference(&files).cloned().collect();
    let undocumented: Vec<_> = api.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&api).collect();
    assert!(undocumented.is_empty(), "routes missing from the OpenAPI table (crates/api/src/openapi.rs): {undocumented:?}");
    assert!(unrouted.is_empty(), "documented operations the router does not serve: {unrouted:?}");
}

#[test]
fn the_source_reader_finds_methods_and_ignores_lookalikes() {
    let source = r#"
        .route("/a", get(x::list).post(x::create).layer(DefaultBodyLimit::max(10)))
        .route(
            "/b/{id}",
            put(x::put).delete(x::target(1)),
        )
        .route("/c", post(x::import).layer(DefaultBodyLimit::max(IMPORT)))
    "#;
    let got: Vec<(String, String)> = routed(source).into_iter().collect();
    let want: Vec<(String, String)> = [("delete", "/b/{id}"), ("get", "/a"), ("post", "/a"), ("post", "/c"), ("put", "/b/{id}")]
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let mut want = want;
    want.sort();
    assert_eq!(got, want);
}
