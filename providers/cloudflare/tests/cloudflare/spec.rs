//! The emulator's answers against the vendor's OpenAPI file: every operation in
//! `cloudflare-v4.subset.yaml` is driven (successes and failures), every answer is recorded on
//! the way out and validated against the response schema of its operation and status.
//! The spec is the repository's own copy in `specs/` (see specs/README.md for its source).

use std::path::PathBuf;

use crate::common::{TOKEN, example_com};
use serde_json::{Value as Json, json};
use tarn_provider_cloudflare::emulator::{Emulator, Settings};
use tarn_sdk::http::Client;
use tarn_sdk::sim::SimServer;
use tarn_sdk::sim::spec::{OpenApi, Recorder};

fn spec_path() -> PathBuf {
    spec_file("cloudflare-v4.subset.yaml")
}

fn spec_file(name: &str) -> PathBuf {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = repo.join("specs").join(name);
    assert!(path.exists(), "the vendor spec is missing at {}: it is part of the repository", path.display());
    path
}

#[tokio::test]
async fn every_emulated_operation_answers_as_the_spec_says() {
    let spec = OpenApi::load(&spec_path()).expect("load the spec");
    let recorder = Recorder::default();
    let emulator = Emulator::new(Settings::accepting(TOKEN));
    let server = SimServer::start(recorder.wrap(emulator.router())).await.expect("serve");
    let base = format!("{}client/v4", server.url());
    let c = Client::builder(&base).bearer_token(TOKEN).max_attempts(1).build().expect("client");
    let zone = example_com();
    let records = format!("zones/{zone}/dns_records");
    let lockdowns = format!("zones/{zone}/firewall/lockdowns");

    // Zones.
    c.get("zones?name=example.com&per_page=5").await.expect("list zones");
    c.get(&format!("zones/{zone}")).await.expect("zone details");
    let _ = c.get(&format!("zones/{}", "e".repeat(32))).await.expect_err("unknown zone");
    let _ = c.get("zones?per_page=500").await.expect_err("per_page out of range");

    // DNS records: each content type, then details, overwrite, patch, list, delete.
    let mut ids = Vec::new();
    for body in [
        json!({"type": "A", "name": "www", "content": "192.0.2.1", "proxied": true, "comment": "web", "tags": ["team:web"]}),
        json!({"type": "AAAA", "name": "www", "content": "2001:db8::1"}),
        json!({"type": "CNAME", "name": "shop", "content": "shops.example.net", "ttl": 300}),
        json!({"type": "MX", "name": "@", "content": "mx.example.net", "priority": 10}),
        json!({"type": "TXT", "name": "@", "content": "v=spf1 -all"}),
        json!({"type": "NS", "name": "sub", "content": "ns1.example.net"}),
        json!({"type": "PTR", "name": "1.2.0.192.in-addr.arpa", "content": "www.example.com"}),
    ] {
        let created = c.post(&records, &body).await.expect("create record");
        ids.push(created["result"]["id"].as_str().expect("id").to_string());
    }
    let _ =
        c.post(&records, &json!({"type": "A", "name": "www", "content": "192.0.2.1"})).await.expect_err("duplicate");
    let _ = c.post(&records, &json!({"type": "A", "name": "bad", "content": "nope"})).await.expect_err("invalid");
    let one = format!("{records}/{}", ids[0]);
    c.get(&one).await.expect("record details");
    c.put(&one, &json!({"type": "A", "name": "www", "content": "192.0.2.2", "ttl": 120})).await.expect("overwrite");
    c.patch(&one, &json!({"comment": "patched"})).await.expect("patch");
    c.get(&format!("{records}?per_page=2&page=2&order=name")).await.expect("list page 2");
    c.get(&format!("{records}?type=A&comment.present=1")).await.expect("filtered list");
    c.delete(&one).await.expect("delete record");
    let _ = c.get(&one).await.expect_err("deleted record");
    let _ = c.delete(&one).await.expect_err("deleted twice");
    let _ = c.patch(&one, &json!({"ttl": 60})).await.expect_err("patch of a deleted record");
    let _ = c
        .put(&one, &json!({"type": "A", "name": "x", "content": "192.0.2.3"}))
        .await
        .expect_err("put of a deleted record");

    // Zone lockdown rules.
    let rule = c
        .post(&lockdowns, &json!({"urls": ["example.com/admin*"], "configurations": [{"target": "ip", "value": "198.51.100.4"}], "description": "admins"}))
        .await
        .expect("create rule");
    let rule_path = format!("{lockdowns}/{}", rule["result"]["id"].as_str().expect("rule id"));
    let _ = c.post(&lockdowns, &json!({"urls": [], "configurations": []})).await.expect_err("invalid rule");
    c.get(&rule_path).await.expect("rule details");
    c.put(&rule_path, &json!({"urls": ["example.com/admin*"], "configurations": [{"target": "ip_range", "value": "198.51.0.0/16"}], "paused": true}))
        .await
        .expect("update rule");
    c.get(&format!("{lockdowns}?per_page=5")).await.expect("list rules");
    let _ = c.get(&format!("{lockdowns}?per_page=7")).await.expect_err("per_page not a multiple of 5");
    c.delete(&rule_path).await.expect("delete rule");
    let _ = c.get(&rule_path).await.expect_err("deleted rule");

    // Token verification, from its own extract of the vendor file: a known token, an unknown
    // one, none.
    c.get("user/tokens/verify").await.expect("verify the token");
    let stranger = Client::builder(&base).bearer_token("not-known").max_attempts(1).build().expect("client");
    let _ = stranger.get("user/tokens/verify").await.expect_err("unknown token");
    let _ = stranger.get("zones").await.expect_err("unknown token elsewhere");
    let anonymous = Client::builder(&base).max_attempts(1).build().expect("client");
    let _ = anonymous.get("user/tokens/verify").await.expect_err("no token");
    let _ = anonymous.get("zones").await.expect_err("no token elsewhere");

    let (verify, exchanges): (Vec<_>, Vec<_>) =
        recorder.exchanges().into_iter().partition(|e| e.path.ends_with("/user/tokens/verify"));
    let tokens = OpenApi::load(&spec_file("cloudflare-v4-user-tokens.extract.yaml")).expect("load the extract");
    let report = tokens.check_all(&verify);
    let failures: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
    assert!(failures.is_empty(), "token answers that do not match the spec:\n{}", failures.join("\n\n"));
    assert_eq!(tokens.uncovered(&report), Vec::<(String, String)>::new(), "token verification never succeeded");
    assert_eq!(report.checked.len(), 3, "{:?}", report.checked);

    let report = spec.check_all(&exchanges);
    let failures: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
    assert!(failures.is_empty(), "answers that do not match the spec:\n{}", failures.join("\n\n"));
    assert_eq!(spec.uncovered(&report), Vec::<(String, String)>::new(), "operations never exercised successfully");
    let errors = report.checked.iter().filter(|(_, _, s)| *s >= 400).count();
    assert!(errors >= 10, "error answers were checked too ({errors})");
    // Every answer, faulted or not, is in the envelope with `result_info` on lists.
    for e in &exchanges {
        assert!(e.body.get("success").is_some_and(Json::is_boolean), "{} {}: {}", e.method, e.path, e.body);
    }
    let lists = exchanges.iter().filter(|e| e.method == "GET" && e.status == 200 && e.body["result"].is_array());
    for e in lists {
        for key in ["page", "per_page", "count", "total_count", "total_pages"] {
            assert!(e.body["result_info"][key].is_u64(), "{} lacks result_info.{key}: {}", e.path, e.body);
        }
    }
}

#[test]
fn the_checker_catches_an_answer_that_breaks_the_spec() {
    let spec = OpenApi::load(&spec_path()).expect("load the spec");
    let bad = tarn_sdk::sim::spec::Exchange {
        method: "GET".into(),
        path: "/client/v4/zones/023e105f4ecef8ad9ca31a8372d0c353/firewall/lockdowns/372e67954025e0ba6aaa6d586b9e0b59"
            .into(),
        status: 200,
        // `priority` is not a field of firewall_zonelockdown, which forbids others.
        body: json!({"success": true, "errors": [], "messages": [], "result": {"id": "372e67954025e0ba6aaa6d586b9e0b59",
            "created_on": "2024-01-01T00:00:00Z", "modified_on": "2024-01-01T00:00:00Z", "paused": false, "description": "",
            "urls": ["a"], "configurations": [], "priority": 1}}),
    };
    let err = spec.check(&bad).expect_err("an extra field is refused");
    assert!(err.to_string().contains("priority"), "{err}");
}
