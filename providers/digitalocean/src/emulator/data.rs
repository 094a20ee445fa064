//! The emulator's objects (droplets, actions, SSH keys, domains and records, load balancers,
//! tags) in `tarn_sdk::sim::Store`s, the seed catalogue (regions, sizes, public images), their
//! JSON as the API shows it (field for field from `specs/digitalocean-v2.subset.yaml`), the
//! pool of addresses new droplets take, and the snapshot that keeps all of it between runs.
//!
//! Must not parse requests or choose status codes: the route modules do that.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use tarn_sdk::sim::{EmulatorError, Store, read_snapshot, write_snapshot};

/// A region: slug and name.
pub const REGIONS: &[(&str, &str)] = &[
    ("nyc1", "New York 1"),
    ("nyc3", "New York 3"),
    ("ams3", "Amsterdam 3"),
    ("fra1", "Frankfurt 1"),
    ("lon1", "London 1"),
    ("sfo3", "San Francisco 3"),
    ("sgp1", "Singapore 1"),
    ("tor1", "Toronto 1"),
    ("blr1", "Bangalore 1"),
    ("syd1", "Sydney 1"),
];

/// A size: slug, memory in MB, vCPUs, disk in GB, monthly price.
pub const SIZES: &[(&str, u64, u64, u64, f64)] = &[
    ("s-1vcpu-1gb", 1024, 1, 25, 6.0),
    ("s-1vcpu-2gb", 2048, 1, 50, 12.0),
    ("s-2vcpu-2gb", 2048, 2, 60, 18.0),
    ("s-2vcpu-4gb", 4096, 2, 80, 24.0),
    ("s-4vcpu-8gb", 8192, 4, 160, 48.0),
];

/// A public image: id, slug, name, distribution.
pub const IMAGES: &[(u64, &str, &str, &str)] = &[
    (160_000_001, "ubuntu-24-04-x64", "24.04 (LTS) x64", "Ubuntu"),
    (160_000_002, "ubuntu-22-04-x64", "22.04 (LTS) x64", "Ubuntu"),
    (160_000_003, "debian-12-x64", "12 x64", "Debian"),
];

/// The load balancer sizes the API accepts.
pub const LB_SIZES: &[&str] = &["lb-small", "lb-medium", "lb-large"];

pub fn region(slug: &str) -> Option<&'static (&'static str, &'static str)> {
    REGIONS.iter().find(|r| r.0 == slug)
}

pub fn size(slug: &str) -> Option<&'static (&'static str, u64, u64, u64, f64)> {
    SIZES.iter().find(|s| s.0 == slug)
}

/// An image by slug or id.
pub fn image(wanted: &str) -> Option<&'static (u64, &'static str, &'static str, &'static str)> {
    IMAGES.iter().find(|i| i.1 == wanted || i.0.to_string() == wanted)
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Droplet {
    pub id: u64,
    pub name: String,
    pub region: String,
    pub size: String,
    pub image: u64,
    /// new (being created), active or off.
    pub status: String,
    pub locked: bool,
    pub tags: Vec<String>,
    pub features: Vec<String>,
    pub public_v4: String,
    pub private_v4: String,
    pub public_v6: Option<String>,
    pub ssh_keys: Vec<u64>,
    pub user_data: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Action {
    pub id: u64,
    /// create, power_on, power_off, …
    pub kind: String,
    pub droplet_id: u64,
    pub region: String,
    /// in-progress, completed or errored.
    pub status: String,
    pub started_at: String,
    pub completed_at: Option<String>,
    /// Unix milliseconds at which the action completes.
    pub done_at: u64,
    /// What completing it does to the droplet (`status:off`, `size:s-…`, `name:…`, `ipv6`).
    pub effect: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SshKey {
    pub id: u64,
    pub name: String,
    pub public_key: String,
    pub fingerprint: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Domain {
    pub name: String,
    pub ttl: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    pub id: u64,
    pub domain: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub data: String,
    pub ttl: u64,
    pub priority: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LoadBalancer {
    pub id: String,
    pub name: String,
    pub region: String,
    pub size: String,
    pub ip: String,
    /// new, then active once `active_at` (Unix milliseconds) has passed.
    pub status: String,
    pub active_at: u64,
    pub forwarding_rules: Vec<Json>,
    pub health_check: Json,
    pub droplet_ids: Vec<u64>,
    pub tag: String,
    pub redirect_http_to_https: bool,
    pub created_at: String,
}

/// Everything the emulator holds. Clones share the objects.
#[derive(Debug, Clone, Default)]
pub struct Data {
    pub droplets: Store<Droplet>,
    pub actions: Store<Action>,
    pub keys: Store<SshKey>,
    pub domains: Store<Domain>,
    pub records: Store<Record>,
    pub balancers: Store<LoadBalancer>,
    /// Tags by name (their resources are counted from the droplets).
    pub tags: Store<String>,
    /// How long a droplet action takes (and a load balancer's setup).
    pub action_time: Duration,
    /// The addresses new droplets take, in order; each entry goes to one live droplet at a time.
    pub address_pool: Arc<Mutex<Vec<String>>>,
    /// Held while a new droplet takes its address and is stored, so two droplets created at
    /// once never take the same pool entry.
    pub placing: Arc<Mutex<()>>,
    /// The last id given out (ids are numbers, unique across object kinds).
    next_id: Arc<Mutex<u64>>,
    snapshot: Option<PathBuf>,
    writing: Arc<Mutex<()>>,
}

#[derive(Serialize, Deserialize, Default)]
struct Snapshot {
    next_id: u64,
    droplets: Vec<Droplet>,
    actions: Vec<Action>,
    keys: Vec<SshKey>,
    domains: Vec<Domain>,
    records: Vec<Record>,
    balancers: Vec<LoadBalancer>,
    tags: Vec<String>,
    #[serde(default)]
    address_pool: Vec<String>,
}

/// The first id the emulator gives out (DigitalOcean's ids are large numbers).
const FIRST_ID: u64 = 3_164_444;

impl Data {
    /// An empty emulator, in memory only.
    pub fn new(action_time: Duration) -> Data {
        Data { action_time, next_id: Arc::new(Mutex::new(FIRST_ID)), ..Data::default() }
    }

    /// The objects of `snapshot` when that file exists, else an empty emulator; changes are
    /// written back.
    pub fn open(snapshot: PathBuf, action_time: Duration) -> Result<Data, EmulatorError> {
        let saved: Snapshot = match read_snapshot(&snapshot)? {
            None => Snapshot { next_id: FIRST_ID, ..Snapshot::default() },
            Some(json) => serde_json::from_value(json).map_err(|e| EmulatorError::Snapshot {
                path: snapshot.clone(),
                detail: format!("not a digitalocean emulator snapshot: {e}"),
            })?,
        };
        let data = Data { snapshot: Some(snapshot), ..Data::new(action_time) };
        *data.next_id.lock().unwrap_or_else(|p| p.into_inner()) = saved.next_id.max(FIRST_ID);
        *data.address_pool.lock().unwrap_or_else(|p| p.into_inner()) = saved.address_pool;
        saved.droplets.into_iter().for_each(|o| drop(data.droplets.put(&o.id.to_string(), o)));
        saved.actions.into_iter().for_each(|o| drop(data.actions.put(&o.id.to_string(), o)));
        saved.keys.into_iter().for_each(|o| drop(data.keys.put(&o.id.to_string(), o)));
        saved.domains.into_iter().for_each(|o| drop(data.domains.put(&o.name.clone(), o)));
        saved.records.into_iter().for_each(|o| drop(data.records.put(&o.id.to_string(), o)));
        saved.balancers.into_iter().for_each(|o| drop(data.balancers.put(&o.id.clone(), o)));
        saved.tags.into_iter().for_each(|o| drop(data.tags.put(&o.clone(), o)));
        data.persist();
        Ok(data)
    }

    /// A fresh numeric id.
    pub fn id(&self) -> u64 {
        let mut next = self.next_id.lock().unwrap_or_else(|p| p.into_inner());
        *next += 1;
        *next
    }

    /// Writes the snapshot, if the emulator keeps one. A failure is logged, not fatal.
    pub fn persist(&self) {
        let Some(path) = &self.snapshot else { return };
        let _guard = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = write_snapshot(path, &self.dump()) {
            tracing::warn!("cannot write the digitalocean emulator snapshot {}: {e}", path.display());
        }
    }

    pub fn dump(&self) -> Json {
        serde_json::to_value(Snapshot {
            next_id: *self.next_id.lock().unwrap_or_else(|p| p.into_inner()),
            droplets: self.droplets.list(),
            actions: self.actions.list(),
            keys: self.keys.list(),
            domains: self.domains.list(),
            records: self.records.list(),
            balancers: self.balancers.list(),
            tags: self.tags.list(),
            address_pool: self.address_pool.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        })
        .unwrap_or(Json::Null)
    }

    /// The public IPv4 a new droplet gets: the first pool entry no live droplet holds (an
    /// address listed twice can be held twice), else one of 203.0.113.0/24 (TEST-NET-3).
    pub fn next_public_v4(&self) -> String {
        let pool = self.address_pool.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut held: BTreeMap<String, usize> = BTreeMap::new();
        for d in self.droplets.list() {
            *held.entry(d.public_v4).or_default() += 1;
        }
        for address in pool {
            match held.get_mut(&address) {
                Some(n) if *n > 0 => *n -= 1,
                _ => return address,
            }
        }
        let used: Vec<String> = self.droplets.list().into_iter().map(|d| d.public_v4).collect();
        (2..255u32)
            .map(|n| format!("203.0.113.{n}"))
            .find(|a| !used.contains(a))
            .unwrap_or_else(|| "203.0.113.254".into())
    }

    /// Finishes the actions and load balancer setups whose time has come. Called before every
    /// answer that shows an action, a droplet or a load balancer.
    pub fn settle(&self) {
        let now = now_ms();
        let mut changed = false;
        for action in self.actions.list().into_iter().filter(|a| a.status == "in-progress" && a.done_at <= now) {
            self.actions.update(&action.id.to_string(), |a| {
                a.status = "completed".into();
                a.completed_at = Some(now_text());
            });
            self.droplets.update(&action.droplet_id.to_string(), |d| {
                d.locked = false;
                apply_effect(d, &action.effect);
            });
            changed = true;
        }
        for lb in self.balancers.list().into_iter().filter(|b| b.status == "new" && b.active_at <= now) {
            self.balancers.update(&lb.id, |b| b.status = "active".into());
            changed = true;
        }
        if changed {
            self.persist();
        }
    }

    /// Starts an action on a droplet; it completes after `action_time`.
    pub fn start_action(&self, droplet: &Droplet, kind: &str, effect: &str) -> Action {
        let action = Action {
            id: self.id(),
            kind: kind.to_string(),
            droplet_id: droplet.id,
            region: droplet.region.clone(),
            status: "in-progress".into(),
            started_at: now_text(),
            completed_at: None,
            done_at: now_ms() + self.action_time.as_millis() as u64,
            effect: effect.to_string(),
        };
        self.actions.put(&action.id.to_string(), action.clone());
        self.droplets.update(&droplet.id.to_string(), |d| d.locked = true);
        action
    }

    /// How many droplets carry `tag`.
    pub fn tagged(&self, tag: &str) -> Vec<Droplet> {
        self.droplets.list().into_iter().filter(|d| d.tags.iter().any(|t| t == tag)).collect()
    }
}

/// What a completed action does.
fn apply_effect(d: &mut Droplet, effect: &str) {
    match effect.split_once(':') {
        Some(("status", s)) => d.status = s.to_string(),
        Some(("size", s)) => d.size = s.to_string(),
        Some(("name", s)) => d.name = s.to_string(),
        _ if effect == "ipv6" => {
            if !d.features.iter().any(|f| f == "ipv6") {
                d.features.push("ipv6".into());
            }
            d.public_v6 = Some(ipv6_for(d.id));
        }
        _ => {}
    }
}

pub fn ipv6_for(id: u64) -> String {
    format!("2001:db8::{:x}", id & 0xffff)
}

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

pub fn now_text() -> String {
    let t = time::OffsetDateTime::now_utc();
    t.format(time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"))
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

fn region_json(slug: &str) -> Json {
    let name = region(slug).map_or(slug, |r| r.1);
    json!({
        "name": name, "slug": slug,
        "features": ["private_networking", "backups", "ipv6", "metadata", "install_agent", "storage", "image_transfer"],
        "available": true,
        "sizes": SIZES.iter().map(|s| s.0).collect::<Vec<_>>(),
    })
}

fn region_slugs() -> Vec<&'static str> {
    REGIONS.iter().map(|r| r.0).collect()
}

/// A droplet as the API shows it.
pub fn droplet_json(d: &Droplet) -> Json {
    let (slug, memory, vcpus, disk, monthly) = size(&d.size).copied().unwrap_or(("s-1vcpu-1gb", 1024, 1, 25, 6.0));
    let (image_id, image_slug, image_name, distribution) =
        IMAGES.iter().find(|i| i.0 == d.image).copied().unwrap_or(IMAGES[0]);
    let mut v6 = Vec::new();
    if let Some(address) = &d.public_v6 {
        v6.push(json!({"ip_address": address, "netmask": 64, "gateway": "2001:db8::1", "type": "public"}));
    }
    json!({
        "id": d.id,
        "name": d.name,
        "memory": memory,
        "vcpus": vcpus,
        "disk": disk,
        "disk_info": [{"type": "local", "size": {"amount": disk, "unit": "gib"}}],
        "locked": d.locked,
        "status": d.status,
        "created_at": d.created_at,
        "features": d.features,
        "backup_ids": [],
        "next_backup_window": null,
        "snapshot_ids": [],
        "image": {
            "id": image_id, "name": image_name, "distribution": distribution, "slug": image_slug,
            "public": true, "regions": region_slugs(), "created_at": "2024-04-25T09:00:00Z",
            "type": "base", "min_disk_size": 7, "size_gigabytes": 2.36, "description": "",
            "tags": [], "status": "available", "error_message": "",
        },
        "volume_ids": [],
        "size": {
            "slug": slug, "memory": memory, "vcpus": vcpus, "disk": disk, "transfer": 1.0,
            "price_monthly": monthly, "price_hourly": monthly / 672.0, "regions": region_slugs(),
            "available": true, "description": "Basic",
        },
        "size_slug": slug,
        "networks": {
            "v4": [
                {"ip_address": d.private_v4, "netmask": "255.255.0.0", "gateway": "10.10.0.1", "type": "private"},
                {"ip_address": d.public_v4, "netmask": "255.255.255.0", "gateway": "203.0.113.1", "type": "public"},
            ],
            "v6": v6,
        },
        "region": region_json(&d.region),
        "tags": d.tags,
        "vpc_uuid": "760e09ef-dc84-11e8-981e-3cfdfeaae000",
    })
}

pub fn action_json(a: &Action) -> Json {
    json!({
        "id": a.id,
        "status": a.status,
        "type": a.kind,
        "started_at": a.started_at,
        "completed_at": a.completed_at,
        "resource_id": a.droplet_id,
        "resource_type": "droplet",
        "region": region_json(&a.region),
        "region_slug": a.region,
    })
}

pub fn key_json(k: &SshKey) -> Json {
    json!({"id": k.id, "fingerprint": k.fingerprint, "public_key": k.public_key, "name": k.name})
}

pub fn domain_json(d: &Domain) -> Json {
    json!({"name": d.name, "ttl": d.ttl, "zone_file": format!("$ORIGIN {}.\n$TTL {}\n", d.name, d.ttl)})
}

pub fn record_json(r: &Record) -> Json {
    json!({
        "id": r.id, "type": r.kind, "name": r.name, "data": r.data, "priority": r.priority,
        "port": null, "ttl": r.ttl, "weight": null, "flags": null, "tag": null,
    })
}

pub fn balancer_json(data: &Data, b: &LoadBalancer) -> Json {
    let droplet_ids: Vec<u64> =
        if b.tag.is_empty() { b.droplet_ids.clone() } else { data.tagged(&b.tag).iter().map(|d| d.id).collect() };
    json!({
        "id": b.id,
        "name": b.name,
        "ip": b.ip,
        "size": b.size,
        "algorithm": "round_robin",
        "status": b.status,
        "created_at": b.created_at,
        "forwarding_rules": b.forwarding_rules,
        "health_check": b.health_check,
        "sticky_sessions": {"type": "none"},
        "region": region_json(&b.region),
        "tag": b.tag,
        "droplet_ids": droplet_ids,
        "redirect_http_to_https": b.redirect_http_to_https,
        "enable_proxy_protocol": false,
        "enable_backend_keepalive": false,
        "vpc_uuid": "c33931f2-a26a-4e61-b85c-4e95a2ec431b",
        "disable_lets_encrypt_dns_records": false,
        "project_id": "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30",
        "http_idle_timeout_seconds": 60,
    })
}

pub fn tag_json(data: &Data, name: &str) -> Json {
    let droplets = data.tagged(name);
    let last =
        droplets.last().map(|d| format!("https://api.digitalocean.com/v2/droplets/{}", d.id)).unwrap_or_default();
    json!({
        "name": name,
        "resources": {
            "count": droplets.len(),
            "last_tagged_uri": last,
            "droplets": {"count": droplets.len(), "last_tagged_uri": last},
        },
    })
}
