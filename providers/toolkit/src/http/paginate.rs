//! Collecting every item of a list endpoint, in the four pagination styles tarn's vendors use:
//! Scaleway's `page`/`per_page` with `Link`/`X-Total-Count` headers, DigitalOcean's
//! `links.pages.next` with `meta.total`, Cloudflare's `result_info`, and OpenStack's
//! `limit`/`marker` (the marker is the last item's id).
//!
//! Must not interpret items beyond the OpenStack id: callers deserialize them. Every loop has a
//! page cap so a server that always says "next" cannot spin tarn forever.

use reqwest::Method;
use serde_json::Value as Json;

use super::client::{Client, Response};
use crate::error::ProviderError;

/// No collection tarn manages spans more pages than this; past it the server is misbehaving.
const MAX_PAGES: usize = 10_000;

/// How a collection is paged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paging {
    /// Scaleway: `?page=N&per_page=P`, items under `key`, `Link: <..>; rel="next"`, `X-Total-Count`.
    PageNumber { key: String, per_page: u32 },
    /// DigitalOcean: `?page=N&per_page=P`, items under `key`, `links.pages.next`, `meta.total`.
    NextLink { key: String, per_page: u32 },
    /// Cloudflare: `?page=N&per_page=P`, items under `result`, `result_info.total_pages`.
    ResultInfo { per_page: u32 },
    /// OpenStack: `?limit=L&marker=<last id>`, items under `key`, `<key>_links` rel next.
    Marker { key: String, limit: u32 },
}

/// All items of the collection at `path` (with extra `query` filters), page after page.
pub async fn all_pages(
    client: &Client,
    path: &str,
    query: &[(&str, &str)],
    paging: &Paging,
) -> Result<Vec<Json>, ProviderError> {
    match paging {
        Paging::PageNumber { key, per_page } => page_number(client, path, query, key, *per_page).await,
        Paging::NextLink { key, per_page } => next_link(client, path, query, key, *per_page).await,
        Paging::ResultInfo { per_page } => result_info(client, path, query, *per_page).await,
        Paging::Marker { key, limit } => marker(client, path, query, key, *limit).await,
    }
}

async fn fetch(
    client: &Client,
    path: &str,
    query: &[(&str, &str)],
    extra: &[(&str, String)],
) -> Result<Response, ProviderError> {
    let mut request = client.request(Method::GET, path);
    for (k, v) in query {
        request = request.query(k, v);
    }
    for (k, v) in extra {
        request = request.query(k, v);
    }
    request.send().await
}

fn items<'b>(body: &'b Json, key: &str, path: &str) -> Result<&'b Vec<Json>, ProviderError> {
    body.get(key)
        .and_then(Json::as_array)
        .ok_or_else(|| ProviderError::permanent(format!("GET {path}: unexpected list body: no array under \"{key}\"")))
}

fn too_many_pages(path: &str) -> ProviderError {
    ProviderError::permanent(format!(
        "GET {path}: more than {MAX_PAGES} pages; the server keeps announcing a next page"
    ))
}

/// Scaleway. The `Link` header decides when present; else `X-Total-Count`; else a short page.
pub async fn page_number(
    client: &Client,
    path: &str,
    query: &[(&str, &str)],
    key: &str,
    per_page: u32,
) -> Result<Vec<Json>, ProviderError> {
    let mut all = Vec::new();
    for page in 1..=MAX_PAGES {
        let response =
            fetch(client, path, query, &[("page", page.to_string()), ("per_page", per_page.to_string())]).await?;
        let batch = items(&response.body, key, path)?;
        all.extend(batch.iter().cloned());
        let total = response
            .headers
            .get("x-total-count")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<usize>().ok());
        let more = match (link_has_next(&response.headers), total) {
            (Some(next), _) => next,
            (None, Some(total)) => all.len() < total,
            (None, None) => batch.len() >= per_page as usize,
        };
        if batch.is_empty() || !more {
            return Ok(all);
        }
    }
    Err(too_many_pages(path))
}

/// Whether a `Link` header is present and names a `rel="next"` target; None without the header.
fn link_has_next(headers: &reqwest::header::HeaderMap) -> Option<bool> {
    let mut seen = false;
    for value in headers.get_all("link") {
        seen = true;
        let text = value.to_str().unwrap_or("");
        if text.split(',').any(|part| part.split(';').skip(1).any(|p| matches!(p.trim(), "rel=\"next\"" | "rel=next")))
        {
            return Some(true);
        }
    }
    seen.then_some(false)
}

/// DigitalOcean. `links.pages.next` is an absolute URL on the API's origin; it is followed as is.
pub async fn next_link(
    client: &Client,
    path: &str,
    query: &[(&str, &str)],
    key: &str,
    per_page: u32,
) -> Result<Vec<Json>, ProviderError> {
    let mut all = Vec::new();
    let mut response =
        fetch(client, path, query, &[("page", "1".to_string()), ("per_page", per_page.to_string())]).await?;
    for _ in 0..MAX_PAGES {
        let batch = items(&response.body, key, path)?;
        all.extend(batch.iter().cloned());
        let total = response.body.pointer("/meta/total").and_then(Json::as_u64);
        let next = response.body.pointer("/links/pages/next").and_then(Json::as_str).map(str::to_string);
        let done = batch.is_empty() || total.is_some_and(|t| all.len() as u64 >= t);
        match next {
            Some(url) if !done => response = client.request(Method::GET, &url).send().await?,
            _ => return Ok(all),
        }
    }
    Err(too_many_pages(path))
}

/// Cloudflare. Without `total_pages` (older answers), a short page ends the walk.
pub async fn result_info(
    client: &Client,
    path: &str,
    query: &[(&str, &str)],
    per_page: u32,
) -> Result<Vec<Json>, ProviderError> {
    let mut all = Vec::new();
    for page in 1..=MAX_PAGES {
        let response =
            fetch(client, path, query, &[("page", page.to_string()), ("per_page", per_page.to_string())]).await?;
        let batch = items(&response.body, "result", path)?;
        all.extend(batch.iter().cloned());
        let info = response.body.get("result_info");
        let total_pages = info.and_then(|i| i.get("total_pages")).and_then(Json::as_u64);
        let current = info.and_then(|i| i.get("page")).and_then(Json::as_u64).unwrap_or(page as u64);
        let more = match total_pages {
            Some(total) => current < total,
            None => batch.len() >= per_page as usize,
        };
        if batch.is_empty() || !more {
            return Ok(all);
        }
    }
    Err(too_many_pages(path))
}

/// OpenStack. Goes on while `<key>_links` has a next link or a page came back full.
pub async fn marker(
    client: &Client,
    path: &str,
    query: &[(&str, &str)],
    key: &str,
    limit: u32,
) -> Result<Vec<Json>, ProviderError> {
    let mut all = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut extra = vec![("limit", limit.to_string())];
        if let Some(m) = &marker {
            extra.push(("marker", m.clone()));
        }
        let response = fetch(client, path, query, &extra).await?;
        let batch = items(&response.body, key, path)?;
        all.extend(batch.iter().cloned());
        let links_key = format!("{key}_links");
        let has_next = response
            .body
            .get(&links_key)
            .and_then(Json::as_array)
            .is_some_and(|links| links.iter().any(|l| l.get("rel").and_then(Json::as_str) == Some("next")));
        let Some(last) = batch.last() else { return Ok(all) };
        if !has_next && batch.len() < limit as usize {
            return Ok(all);
        }
        let id = match last.get("id") {
            Some(Json::String(s)) => s.clone(),
            Some(Json::Number(n)) => n.to_string(),
            _ => return Err(ProviderError::permanent(format!("GET {path}: list item without an id; cannot page on"))),
        };
        if marker.as_deref() == Some(id.as_str()) {
            return Err(ProviderError::permanent(format!("GET {path}: the server returned the same page twice")));
        }
        marker = Some(id);
    }
    Err(too_many_pages(path))
}
