//! Pagination over real loopback HTTP: one small emulator per vendor style, each serving a
//! collection of seven items in pages of three (three pages), checked item for item and order.
//!
//! Tests only. The emulators here are minimal page servers, not vendor emulators.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::get;
use serde_json::{Value as Json, json};

use super::client::Client;
use super::paginate::{Paging, all_pages};
use crate::sim::{SimServer, Store};

const ITEMS: usize = 7;

fn store() -> Store<Json> {
    let store = Store::new();
    for n in 0..ITEMS {
        store.insert_with(|id| json!({"id": id, "name": format!("item-{n}")}));
    }
    store
}

type Params = Query<HashMap<String, String>>;

fn number(q: &HashMap<String, String>, key: &str, default: usize) -> usize {
    q.get(key).and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn scaleway(State(s): State<Store<Json>>, Query(q): Params) -> (HeaderMap, axum::Json<Json>) {
    let (page, per) = (number(&q, "page", 1), number(&q, "per_page", 50));
    let mut headers = HeaderMap::new();
    headers.insert("x-total-count", HeaderValue::from(s.len()));
    let last = s.len().div_ceil(per);
    let mut link = format!("</instance/v1/zones/fr-par-1/servers?page={last}&per_page={per}>; rel=\"last\"");
    if page < last {
        link = format!("</instance/v1/zones/fr-par-1/servers?page={}&per_page={per}>; rel=\"next\", {link}", page + 1);
    }
    if let Ok(v) = HeaderValue::from_str(&link) {
        headers.insert("link", v);
    }
    (headers, axum::Json(json!({"servers": s.page(page, per)})))
}

async fn digitalocean(
    State((s, base)): State<(Store<Json>, Arc<OnceLock<String>>)>,
    Query(q): Params,
) -> axum::Json<Json> {
    let base = base.get().cloned().unwrap_or_default();
    let (page, per) = (number(&q, "page", 1), number(&q, "per_page", 20));
    let mut pages = json!({});
    if page * per < s.len() {
        pages["next"] = json!(format!("{base}v2/droplets?page={}&per_page={per}", page + 1));
    }
    axum::Json(json!({"droplets": s.page(page, per), "links": {"pages": pages}, "meta": {"total": s.len()}}))
}

async fn cloudflare(State(s): State<Store<Json>>, Query(q): Params) -> axum::Json<Json> {
    let (page, per) = (number(&q, "page", 1), number(&q, "per_page", 20));
    let items = s.page(page, per);
    axum::Json(json!({
        "success": true, "errors": [], "messages": [], "result": items,
        "result_info": {"page": page, "per_page": per, "count": items.len(), "total_count": s.len(), "total_pages": s.len().div_ceil(per)}
    }))
}

async fn openstack(
    State(s): State<Store<Json>>,
    Query(q): Params,
) -> Result<axum::Json<Json>, (StatusCode, axum::Json<Json>)> {
    let limit = number(&q, "limit", 1000);
    let Some(items) = s.after(q.get("marker").map(String::as_str), limit) else {
        return Err((
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"badRequest": {"code": 400, "message": "marker not found"}})),
        ));
    };
    let mut body = json!({"servers": items});
    let last_id = items.last().and_then(|i| i.get("id")).and_then(Json::as_str);
    if let Some(id) = last_id.filter(|_| items.len() == limit) {
        body["servers_links"] =
            json!([{"rel": "next", "href": format!("http://x/v2.1/servers?limit={limit}&marker={id}")}]);
    }
    Ok(axum::Json(body))
}

fn names(items: &[Json]) -> Vec<String> {
    items.iter().filter_map(|i| i.get("name").and_then(Json::as_str).map(str::to_string)).collect()
}

fn expected() -> Vec<String> {
    (0..ITEMS).map(|n| format!("item-{n}")).collect()
}

async fn start(router: Router) -> (SimServer, Client) {
    let server = SimServer::start(router).await.expect("bind loopback");
    let client = Client::builder(server.url()).build().expect("client");
    (server, client)
}

#[tokio::test]
async fn scaleway_page_number_with_link_and_total_count() {
    let router = Router::new().route("/instance/v1/zones/fr-par-1/servers", get(scaleway)).with_state(store());
    let (_server, client) = start(router).await;
    let paging = Paging::PageNumber { key: "servers".into(), per_page: 3 };
    let all = all_pages(&client, "instance/v1/zones/fr-par-1/servers", &[], &paging).await.expect("listed");
    assert_eq!(names(&all), expected());
}

#[tokio::test]
async fn digitalocean_links_pages_next_and_meta_total() {
    // The next links are absolute, so the handler learns the bound address after the start.
    let base = Arc::new(OnceLock::new());
    let router = Router::new().route("/v2/droplets", get(digitalocean)).with_state((store(), base.clone()));
    let (server, client) = start(router).await;
    base.set(server.url()).expect("set once");
    let paging = Paging::NextLink { key: "droplets".into(), per_page: 3 };
    let all = all_pages(&client, "v2/droplets", &[("tag_name", "web")], &paging).await.expect("listed");
    assert_eq!(names(&all), expected());
}

#[tokio::test]
async fn cloudflare_result_info_total_pages() {
    let router = Router::new().route("/client/v4/zones/z1/dns_records", get(cloudflare)).with_state(store());
    let (_server, client) = start(router).await;
    let all = all_pages(&client, "client/v4/zones/z1/dns_records", &[], &Paging::ResultInfo { per_page: 3 })
        .await
        .expect("listed");
    assert_eq!(names(&all), expected());
}

#[tokio::test]
async fn openstack_limit_and_marker() {
    let router = Router::new().route("/v2.1/servers", get(openstack)).with_state(store());
    let (_server, client) = start(router).await;
    let all = all_pages(&client, "v2.1/servers", &[], &Paging::Marker { key: "servers".into(), limit: 3 })
        .await
        .expect("listed");
    assert_eq!(names(&all), expected());
}

#[tokio::test]
async fn a_list_body_without_the_key_is_permanent() {
    let router = Router::new().route("/v2.1/servers", get(|| async { axum::Json(json!({"other": []})) }));
    let (_server, client) = start(router).await;
    let err = all_pages(&client, "v2.1/servers", &[], &Paging::Marker { key: "servers".into(), limit: 3 })
        .await
        .expect_err("no servers key");
    assert_eq!(err.class, crate::error::ErrorClass::Permanent);
}
