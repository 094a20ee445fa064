//! `/security_groups[/{id}]` and their `/rules[/{id}]`: groups with inbound and outbound default
//! policies and statefulness, created within the account's quota (403 `quotas_exceeded` past
//! it), updated by PATCH or replaced by PUT, deleted unless a server uses them (409 `conflict`,
//! the API's own words); rules listed, created, read, replaced (PUT, one or all), patched and
//! deleted.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value as Json, json};

use super::data::{Data, ORGANIZATION_ID, Rule, SecurityGroup, new_id, now_text};
use super::envelope::{self, Failure, Paging};
use super::zone;

const POLICIES: &[&str] = &["accept", "drop"];

fn group_in(data: &Data, zone: &str, id: &str) -> Result<SecurityGroup, Failure> {
    data.groups.get(id).filter(|g| g.zone == zone).ok_or_else(|| Failure::not_found("instance_security_group", id))
}

fn policy(body: &Map<String, Json>, key: &str, current: &str) -> Result<String, Failure> {
    match body.get(key).and_then(Json::as_str) {
        None | Some("unknown_policy") => Ok(current.to_string()),
        Some(p) if POLICIES.contains(&p) => Ok(p.to_string()),
        Some(p) => {
            Err(Failure::invalid_argument(key, "constraint", format!("{key} must be accept or drop, got {p:?}")))
        }
    }
}

fn tags(body: &Map<String, Json>) -> Option<Vec<String>> {
    body.get("tags").and_then(Json::as_array).map(|l| l.iter().filter_map(|t| t.as_str().map(str::to_string)).collect())
}

pub async fn list(
    State(data): State<Data>,
    Path(z): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Failure> {
    let z = zone(&z)?;
    let paging = Paging::parse(&q)?;
    let items = data
        .groups
        .list()
        .into_iter()
        .filter(|g| g.zone == z)
        .filter(|g| q.get("name").is_none_or(|n| g.name.contains(n.as_str())))
        .filter(|g| q.get("project").is_none_or(|p| g.project == *p))
        .filter(|g| envelope::has_tags(&g.tags, q.get("tags")))
        .map(|g| g.to_json(&data))
        .collect();
    Ok(envelope::list("security_groups", items, paging, &format!("/instance/v1/zones/{z}/security_groups")))
}

pub async fn get(State(data): State<Data>, Path((z, id)): Path<(String, String)>) -> Result<Response, Failure> {
    Ok(envelope::ok("security_group", group_in(&data, zone(&z)?, &id)?.to_json(&data)))
}

pub async fn create(State(data): State<Data>, Path(z): Path<String>, body: Bytes) -> Result<Response, Failure> {
    let z = zone(&z)?;
    let body = envelope::parse_body(&body)?;
    let name = body
        .get("name")
        .and_then(Json::as_str)
        .ok_or_else(|| Failure::invalid_argument("name", "required", "required key not provided"))?;
    let project = body.get("project").and_then(Json::as_str).unwrap_or(ORGANIZATION_ID).to_string();
    let _changing = data.changing.lock().unwrap_or_else(|p| p.into_inner());
    let used = data.groups.list().iter().filter(|g| g.zone == z && g.project == project).count();
    if used >= data.group_quota {
        return Err(Failure {
            status: StatusCode::FORBIDDEN,
            body: json!({"type": "quotas_exceeded", "message": "quota(s) exceeded for this resource",
                "details": [{"resource": "SecurityGroups", "quota": data.group_quota, "current": used}]}),
        });
    }
    let stamp = now_text();
    let group = SecurityGroup {
        id: new_id(),
        zone: z.to_string(),
        project,
        name: name.to_string(),
        description: body.get("description").and_then(Json::as_str).unwrap_or_default().to_string(),
        stateful: body.get("stateful").and_then(Json::as_bool).unwrap_or(false),
        inbound_default_policy: policy(&body, "inbound_default_policy", "accept")?,
        outbound_default_policy: policy(&body, "outbound_default_policy", "accept")?,
        project_default: false,
        tags: tags(&body).unwrap_or_default(),
        creation_date: stamp.clone(),
        modification_date: stamp,
    };
    data.groups.put(&group.id.clone(), group.clone());
    data.persist();
    let location = format!("https://api.scaleway.com/instance/v1/zones/{z}/security_groups/{}", group.id);
    Ok(envelope::created("security_group", group.to_json(&data), &location))
}

/// PATCH (only the fields given) and PUT (the whole group) share this.
fn change(data: &Data, mut group: SecurityGroup, body: &Map<String, Json>) -> Result<SecurityGroup, Failure> {
    if let Some(n) = body.get("name").and_then(Json::as_str) {
        group.name = n.to_string();
    }
    if let Some(d) = body.get("description").and_then(Json::as_str) {
        group.description = d.to_string();
    }
    if let Some(s) = body.get("stateful").and_then(Json::as_bool) {
        group.stateful = s;
    }
    group.inbound_default_policy = policy(body, "inbound_default_policy", &group.inbound_default_policy)?;
    group.outbound_default_policy = policy(body, "outbound_default_policy", &group.outbound_default_policy)?;
    if let Some(t) = tags(body) {
        group.tags = t;
    }
    group.modification_date = now_text();
    data.groups.put(&group.id.clone(), group.clone());
    data.persist();
    Ok(group)
}

pub async fn update(
    State(data): State<Data>,
    Path((z, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, Failure> {
    let group = group_in(&data, zone(&z)?, &id)?;
    let group = change(&data, group, &envelope::parse_body(&body)?)?;
    Ok(envelope::ok("security_group", group.to_json(&data)))
}

pub async fn set(
    State(data): State<Data>,
    Path((z, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, Failure> {
    let group = group_in(&data, zone(&z)?, &id)?;
    let body = envelope::parse_body(&body)?;
    if body.get("name").and_then(Json::as_str).is_none() {
        return Err(Failure::invalid_argument("name", "required", "required key not provided"));
    }
    let group = change(&data, group, &body)?;
    Ok(envelope::ok("security_group", group.to_json(&data)))
}

pub async fn delete(State(data): State<Data>, Path((z, id)): Path<(String, String)>) -> Result<Response, Failure> {
    let group = group_in(&data, zone(&z)?, &id)?;
    if data.servers.list().iter().any(|s| s.security_group_id == group.id) {
        return Err(Failure {
            status: StatusCode::CONFLICT,
            body: json!({"type": "conflict", "message": "Group is in use. You cannot delete it."}),
        });
    }
    for rule in data.rules.list().into_iter().filter(|r| r.group_id == id) {
        data.rules.remove(&rule.id);
    }
    data.groups.remove(&id);
    data.persist();
    Ok(envelope::no_content())
}

fn rules_of(data: &Data, group: &str) -> Vec<Rule> {
    let mut rules: Vec<Rule> = data.rules.list().into_iter().filter(|r| r.group_id == group).collect();
    rules.sort_by_key(|r| r.position);
    rules
}

/// A rule from a body, over `base` (PATCH keeps what the body leaves out).
fn rule_from(body: &Map<String, Json>, base: Rule) -> Result<Rule, Failure> {
    let pick = |key: &str, allowed: &[&str], current: &str| -> Result<String, Failure> {
        match body.get(key).and_then(Json::as_str) {
            None => Ok(current.to_string()),
            Some(v) if allowed.contains(&v) => Ok(v.to_string()),
            Some(v) => Err(Failure::invalid_argument(
                key,
                "constraint",
                format!("{key} {v:?} is not one of {}", allowed.join(", ")),
            )),
        }
    };
    let port = |key: &str, current: Option<u32>| -> Result<Option<u32>, Failure> {
        match body.get(key) {
            None => Ok(current),
            Some(Json::Null) => Ok(None),
            // 0 unsets, as the PATCH description says.
            Some(v) => match v.as_u64() {
                Some(0) => Ok(None),
                Some(p) if p <= 65535 => Ok(Some(p as u32)),
                _ => Err(Failure::invalid_argument(key, "constraint", format!("{key} must be a port, 1..65535"))),
            },
        }
    };
    let ip_range = match body.get("ip_range").and_then(Json::as_str) {
        None => base.ip_range.clone(),
        Some(r) if valid_range(r) => r.to_string(),
        Some(r) => return Err(Failure::invalid_argument("ip_range", "format", format!("{r:?} is not an IP network"))),
    };
    let rule = Rule {
        protocol: pick("protocol", &["TCP", "UDP", "ICMP", "ANY"], &base.protocol)?,
        direction: pick("direction", &["inbound", "outbound"], &base.direction)?,
        action: pick("action", &["accept", "drop"], &base.action)?,
        dest_port_from: port("dest_port_from", base.dest_port_from)?,
        dest_port_to: port("dest_port_to", base.dest_port_to)?,
        position: body.get("position").and_then(Json::as_u64).map_or(base.position, |p| p as u32),
        ip_range,
        ..base
    };
    if rule.protocol.is_empty() || rule.direction.is_empty() || rule.action.is_empty() || rule.ip_range.is_empty() {
        let missing = [
            ("protocol", &rule.protocol),
            ("direction", &rule.direction),
            ("action", &rule.action),
            ("ip_range", &rule.ip_range),
        ]
        .into_iter()
        .find(|(_, v)| v.is_empty())
        .map_or("protocol", |(k, _)| k);
        return Err(Failure::invalid_argument(missing, "required", "required key not provided"));
    }
    if let (Some(from), Some(to)) = (rule.dest_port_from, rule.dest_port_to)
        && from > to
    {
        return Err(Failure::invalid_request("dest_port_from must not be above dest_port_to"));
    }
    Ok(rule)
}

fn valid_range(r: &str) -> bool {
    let (addr, len) = r.split_once('/').unwrap_or((r, if r.contains(':') { "128" } else { "32" }));
    match (addr.parse::<std::net::IpAddr>(), len.parse::<u8>()) {
        (Ok(std::net::IpAddr::V4(_)), Ok(l)) => l <= 32,
        (Ok(std::net::IpAddr::V6(_)), Ok(l)) => l <= 128,
        _ => false,
    }
}

fn blank_rule(group: &SecurityGroup) -> Rule {
    Rule {
        id: new_id(),
        group_id: group.id.clone(),
        zone: group.zone.clone(),
        protocol: String::new(),
        direction: String::new(),
        action: String::new(),
        ip_range: String::new(),
        dest_port_from: None,
        dest_port_to: None,
        position: 0,
    }
}

pub async fn rules(
    State(data): State<Data>,
    Path((z, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Failure> {
    let z = zone(&z)?;
    let paging = Paging::parse(&q)?;
    group_in(&data, z, &id)?;
    let items = rules_of(&data, &id).iter().map(Rule::to_json).collect();
    Ok(envelope::list("rules", items, paging, &format!("/instance/v1/zones/{z}/security_groups/{id}/rules")))
}

pub async fn create_rule(
    State(data): State<Data>,
    Path((z, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, Failure> {
    let z = zone(&z)?;
    let group = group_in(&data, z, &id)?;
    let body = envelope::parse_body(&body)?;
    let mut rule = rule_from(&body, blank_rule(&group))?;
    if rule.position == 0 {
        rule.position = rules_of(&data, &id).last().map_or(1, |r| r.position + 1);
    }
    data.rules.put(&rule.id.clone(), rule.clone());
    data.persist();
    let location = format!("https://api.scaleway.com/instance/v1/zones/{z}/security_groups/{id}/rules/{}", rule.id);
    Ok(envelope::created("rule", rule.to_json(), &location))
}

/// PUT of every rule: the group's rules become exactly these.
pub async fn set_rules(
    State(data): State<Data>,
    Path((z, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, Failure> {
    let z = zone(&z)?;
    let group = group_in(&data, z, &id)?;
    let body = envelope::parse_body(&body)?;
    let wanted = body.get("rules").and_then(Json::as_array).cloned().unwrap_or_default();
    let mut made = Vec::new();
    for (i, r) in wanted.iter().enumerate() {
        let fields = r.as_object().cloned().unwrap_or_default();
        let base = fields
            .get("id")
            .and_then(Json::as_str)
            .and_then(|rid| data.rules.get(rid).filter(|x| x.group_id == id))
            .unwrap_or_else(|| blank_rule(&group));
        let mut rule = rule_from(&fields, base)?;
        if rule.position == 0 {
            rule.position = i as u32 + 1;
        }
        made.push(rule);
    }
    for old in rules_of(&data, &id) {
        data.rules.remove(&old.id);
    }
    for rule in &made {
        data.rules.put(&rule.id.clone(), rule.clone());
    }
    data.persist();
    let items: Vec<Json> = rules_of(&data, &id).iter().map(Rule::to_json).collect();
    Ok((StatusCode::OK, axum::Json(json!({"rules": items}))).into_response())
}

pub async fn get_rule(
    State(data): State<Data>,
    Path((z, id, rule)): Path<(String, String, String)>,
) -> Result<Response, Failure> {
    group_in(&data, zone(&z)?, &id)?;
    let rule = data
        .rules
        .get(&rule)
        .filter(|r| r.group_id == id)
        .ok_or_else(|| Failure::not_found("instance_security_group_rule", &rule))?;
    Ok(envelope::ok("rule", rule.to_json()))
}

/// PUT (the whole rule) and PATCH (the fields given) of one rule.
pub async fn change_rule(
    State(data): State<Data>,
    Path((z, id, rule)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, Failure> {
    group_in(&data, zone(&z)?, &id)?;
    let current = data
        .rules
        .get(&rule)
        .filter(|r| r.group_id == id)
        .ok_or_else(|| Failure::not_found("instance_security_group_rule", &rule))?;
    let changed = rule_from(&envelope::parse_body(&body)?, current)?;
    data.rules.put(&rule, changed.clone());
    data.persist();
    Ok(envelope::ok("rule", changed.to_json()))
}

pub async fn delete_rule(
    State(data): State<Data>,
    Path((z, id, rule)): Path<(String, String, String)>,
) -> Result<Response, Failure> {
    group_in(&data, zone(&z)?, &id)?;
    data.rules
        .get(&rule)
        .filter(|r| r.group_id == id)
        .ok_or_else(|| Failure::not_found("instance_security_group_rule", &rule))?;
    data.rules.remove(&rule);
    data.persist();
    Ok(envelope::no_content())
}
