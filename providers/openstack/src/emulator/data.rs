//! The emulator's objects (servers, key pairs), its tokens and its seed catalogue (OVH-like
//! flavors, images, networks and security groups), the server lifecycle's clock (BUILD →
//! ACTIVE, os-stop → SHUTOFF, …, each settling after a set time), their JSON as Nova shows it,
//! and the snapshot that keeps objects between runs (tokens are not kept: a new process
//! authenticates again anyway).
//!
//! Must not parse requests or choose status codes: the route modules do that.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use tarn_sdk::sim::{EmulatorError, Store, read_snapshot, write_snapshot};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Settings;

/// A flavor: id, name, vCPUs, RAM in MB, disk in GB.
pub struct Flavor {
    pub id: &'static str,
    pub name: &'static str,
    pub vcpus: u32,
    pub ram: u32,
    pub disk: u32,
}

/// OVH Public Cloud's usual flavors (names as OVH gives them; ids made up).
pub const FLAVORS: &[Flavor] = &[
    Flavor { id: "0c9a5b8e-31c4-4f2e-9a7e-d2a000000002", name: "d2-2", vcpus: 1, ram: 2000, disk: 25 },
    Flavor { id: "0c9a5b8e-31c4-4f2e-9a7e-d2a000000004", name: "d2-4", vcpus: 2, ram: 4000, disk: 50 },
    Flavor { id: "0c9a5b8e-31c4-4f2e-9a7e-d2a000000008", name: "d2-8", vcpus: 4, ram: 8000, disk: 50 },
    Flavor { id: "5f3e1c2a-7b8d-4c9e-a1f2-b3a000000007", name: "b3-8", vcpus: 2, ram: 8000, disk: 50 },
    Flavor { id: "5f3e1c2a-7b8d-4c9e-a1f2-b3a000000016", name: "b3-16", vcpus: 4, ram: 16000, disk: 100 },
    Flavor { id: "8a1d2e3f-4b5c-4d6e-8f70-c3a000000008", name: "c3-8", vcpus: 4, ram: 8000, disk: 50 },
    Flavor { id: "9b2c3d4e-5f60-4a7b-8c9d-e3a000000016", name: "r3-16", vcpus: 2, ram: 16000, disk: 50 },
];

/// Glance images the emulator knows (Glance itself is not emulated): id, name.
pub const IMAGES: &[(&str, &str)] = &[
    ("a1b2c3d4-0000-4000-8000-0000000022a4", "Ubuntu 22.04"),
    ("a1b2c3d4-0000-4000-8000-0000000024a4", "Ubuntu 24.04"),
    ("a1b2c3d4-0000-4000-8000-00000000d012", "Debian 12"),
];

/// Neutron networks the emulator knows: id, name, whether it gives public addresses.
pub const NETWORKS: &[(&str, &str, bool)] = &[
    ("b7f2a1c0-1111-4111-8111-00000000e7e7", "Ext-Net", true),
    ("b7f2a1c0-2222-4222-8222-000000000a0a", "private", false),
];

/// Security groups of the project (Neutron is not emulated).
pub const SECURITY_GROUPS: &[&str] = &["default", "ssh", "web"];

pub fn flavor(id: &str) -> Option<&'static Flavor> {
    FLAVORS.iter().find(|f| f.id == id)
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Address {
    pub network: String,
    pub addr: String,
    pub version: u8,
    pub mac: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Server {
    pub id: String,
    pub name: String,
    pub flavor_id: String,
    pub image_id: String,
    pub key_name: Option<String>,
    pub addresses: Vec<Address>,
    pub security_groups: Vec<String>,
    pub metadata: BTreeMap<String, String>,
    pub user_data: Option<String>,
    pub status: String,
    pub task_state: Option<String>,
    /// When the status under way settles (ms since the epoch), and to what.
    pub settles: Option<(i128, String)>,
    /// Set when a build failed: the fault Nova shows.
    pub fault: Option<Json>,
    pub deleting: bool,
    pub created: String,
    pub updated: String,
    pub launched_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Keypair {
    pub id: u64,
    pub name: String,
    pub public_key: String,
    pub fingerprint: String,
    pub created_at: String,
}

/// An issued token.
#[derive(Debug, Clone)]
pub struct Token {
    pub expires_at: OffsetDateTime,
    pub revoked: bool,
    pub issued_at: OffsetDateTime,
}

/// Everything the emulator holds. Clones share it.
#[derive(Debug, Clone)]
pub struct Data {
    pub servers: Store<Server>,
    pub keypairs: Store<Keypair>,
    pub tokens: Arc<Mutex<HashMap<String, Token>>>,
    pub settings: Arc<Mutex<Settings>>,
    /// Tokens issued so far.
    pub issued: Arc<AtomicU64>,
    /// Nova requests refused for want of a live token.
    pub refused: Arc<AtomicU64>,
    /// Creates that will end in ERROR.
    pub failing_builds: Arc<AtomicU32>,
    next_address: Arc<AtomicU32>,
    next_keypair: Arc<AtomicU64>,
    snapshot: Option<PathBuf>,
}

#[derive(Serialize, Deserialize, Default)]
struct Snapshot {
    servers: Vec<Server>,
    keypairs: Vec<Keypair>,
}

impl Data {
    pub fn new(settings: Settings) -> Data {
        Data {
            servers: Store::new(),
            keypairs: Store::new(),
            tokens: Arc::default(),
            settings: Arc::new(Mutex::new(settings)),
            issued: Arc::default(),
            refused: Arc::default(),
            failing_builds: Arc::default(),
            next_address: Arc::new(AtomicU32::new(1)),
            next_keypair: Arc::new(AtomicU64::new(1)),
            snapshot: None,
        }
    }

    pub fn open(path: PathBuf, settings: Settings) -> Result<Data, EmulatorError> {
        let mut data = Data::new(settings);
        if let Some(json) = read_snapshot(&path)? {
            let snap: Snapshot = serde_json::from_value(json)
                .map_err(|e| EmulatorError::Snapshot { path: path.clone(), detail: e.to_string() })?;
            let mut max_addr = 0;
            for s in snap.servers {
                max_addr = max_addr.max(s.addresses.len() as u32);
                data.servers.put(&s.id.clone(), s);
            }
            data.next_address.store(data.servers.len() as u32 * 2 + max_addr + 1, Ordering::SeqCst);
            let mut max_id = 0;
            for k in snap.keypairs {
                max_id = max_id.max(k.id);
                data.keypairs.put(&k.name.clone(), k);
            }
            data.next_keypair.store(max_id + 1, Ordering::SeqCst);
        }
        data.snapshot = Some(path);
        Ok(data)
    }

    pub fn settings(&self) -> Settings {
        self.settings.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Writes the snapshot, if there is one.
    pub fn persist(&self) {
        if let Some(path) = &self.snapshot
            && let Err(error) = write_snapshot(path, &self.dump())
        {
            tracing::warn!(%error, path = %path.display(), "cannot write the emulator snapshot");
        }
    }

    /// Every object, as the snapshot file holds them.
    pub fn dump(&self) -> Json {
        self.settle_all();
        let snap = Snapshot { servers: self.servers.list(), keypairs: self.keypairs.list() };
        serde_json::to_value(snap).unwrap_or(Json::Null)
    }

    pub fn next_keypair_id(&self) -> u64 {
        self.next_keypair.fetch_add(1, Ordering::SeqCst)
    }

    /// The addresses a new server gets on `network`.
    pub fn addresses_on(&self, network: &str) -> Vec<Address> {
        let n = self.next_address.fetch_add(1, Ordering::SeqCst);
        let (hi, lo) = ((n / 250) % 250, n % 250 + 2);
        let mac = format!("fa:16:3e:{:02x}:{:02x}:{:02x}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
        let public = NETWORKS.iter().any(|(_, name, public)| *name == network && *public);
        if public {
            vec![
                Address { network: network.into(), addr: format!("51.210.{hi}.{lo}"), version: 4, mac: mac.clone() },
                Address { network: network.into(), addr: format!("2001:41d0:304:{hi:x}::{lo:x}"), version: 6, mac },
            ]
        } else {
            vec![Address { network: network.into(), addr: format!("10.0.{hi}.{lo}"), version: 4, mac }]
        }
    }

    /// Brings every server's status up to now, and forgets the deleted ones.
    pub fn settle_all(&self) {
        let now = now_ms();
        let mut changed = false;
        for s in self.servers.list() {
            if let Some((at, _)) = &s.settles
                && *at <= now
            {
                changed = true;
                if s.deleting {
                    self.servers.remove(&s.id);
                } else {
                    self.servers.update(&s.id, settle);
                }
            }
        }
        if changed {
            self.persist();
        }
    }

    /// The server as it is now, if it exists.
    pub fn server(&self, id: &str) -> Option<Server> {
        self.settle_all();
        self.servers.get(id)
    }
}

/// Finishes the transition under way.
fn settle(s: &mut Server) {
    if let Some((_, status)) = s.settles.take() {
        if status == "ACTIVE" && s.launched_at.is_none() {
            s.launched_at = Some(s.updated.clone());
        }
        s.status = status;
        s.task_state = None;
        s.updated = now_text();
    }
}

pub fn now_ms() -> i128 {
    OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000
}

/// `2026-12-07T14:20:46Z`, as Nova writes times.
pub fn now_text() -> String {
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or_else(|_| OffsetDateTime::now_utc());
    now.format(&Rfc3339).unwrap_or_default()
}

pub fn after(d: Duration) -> i128 {
    now_ms() + d.as_millis() as i128
}

/// The server's JSON for show and detail (`show_response` at 2.1).
pub fn server_json(s: &Server, origin: &str, tenant: &str, user: &str) -> Json {
    let mut addresses = serde_json::Map::new();
    for a in &s.addresses {
        let list = addresses.entry(a.network.clone()).or_insert_with(|| json!([]));
        if let Some(items) = list.as_array_mut() {
            items.push(json!({"addr": a.addr, "version": a.version, "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": a.mac}));
        }
    }
    let (vm_state, power_state) = match s.status.as_str() {
        "ACTIVE" | "REBOOT" | "HARD_REBOOT" => ("active", 1),
        "SHUTOFF" => ("stopped", 4),
        "ERROR" => ("error", 0),
        _ => ("building", 0),
    };
    let mut body = json!({
        "accessIPv4": "",
        "accessIPv6": "",
        "addresses": addresses,
        "config_drive": "",
        "created": s.created,
        "flavor": {"id": s.flavor_id, "links": [{"rel": "bookmark", "href": format!("{origin}/compute/flavors/{}", s.flavor_id)}]},
        "hostId": if s.status == "BUILD" || s.status == "ERROR" { String::new() } else { format!("{:x}", md5_of(&s.id)) },
        "id": s.id,
        "image": {"id": s.image_id, "links": [{"rel": "bookmark", "href": format!("{origin}/compute/images/{}", s.image_id)}]},
        "key_name": s.key_name,
        "links": links(origin, "servers", &s.id),
        "metadata": s.metadata,
        "name": s.name,
        "os-extended-volumes:volumes_attached": [],
        "progress": if s.status == "BUILD" { json!(0) } else { json!(null) },
        "security_groups": s.security_groups.iter().map(|g| json!({"name": g})).collect::<Vec<_>>(),
        "status": s.status,
        "tenant_id": tenant,
        "updated": s.updated,
        "user_id": user,
        "OS-DCF:diskConfig": "MANUAL",
        "OS-EXT-AZ:availability_zone": "nova",
        "OS-EXT-STS:power_state": power_state,
        "OS-EXT-STS:task_state": s.task_state,
        "OS-EXT-STS:vm_state": vm_state,
        "OS-SRV-USG:launched_at": s.launched_at,
        "OS-SRV-USG:terminated_at": null,
    });
    if let (Some(fault), Some(m), true) = (&s.fault, body.as_object_mut(), s.status == "ERROR") {
        m.insert("fault".into(), fault.clone());
    }
    body
}

/// The server's JSON after PUT (`update_response` at 2.1: fewer fields, bare addresses).
pub fn updated_json(s: &Server, origin: &str, tenant: &str, user: &str) -> Json {
    let full = server_json(s, origin, tenant, user);
    let keep = [
        "accessIPv4",
        "accessIPv6",
        "created",
        "fault",
        "flavor",
        "hostId",
        "id",
        "image",
        "links",
        "metadata",
        "name",
        "progress",
        "status",
        "tenant_id",
        "updated",
        "user_id",
        "OS-DCF:diskConfig",
    ];
    let mut out: serde_json::Map<String, Json> =
        keep.iter().filter_map(|k| full.get(*k).map(|v| (k.to_string(), v.clone()))).collect();
    let mut addresses = serde_json::Map::new();
    for a in &s.addresses {
        let list = addresses.entry(a.network.clone()).or_insert_with(|| json!([]));
        if let Some(items) = list.as_array_mut() {
            items.push(json!({"addr": a.addr, "version": a.version}));
        }
    }
    out.insert("addresses".into(), Json::Object(addresses));
    Json::Object(out)
}

pub fn links(origin: &str, collection: &str, id: &str) -> Json {
    json!([
        {"rel": "self", "href": format!("{origin}/compute/v2.1/{collection}/{id}")},
        {"rel": "bookmark", "href": format!("{origin}/compute/{collection}/{id}")},
    ])
}

pub fn flavor_json(f: &Flavor, origin: &str, detail: bool) -> Json {
    let mut body = json!({"id": f.id, "name": f.name, "links": links(origin, "flavors", f.id)});
    if detail && let Some(m) = body.as_object_mut() {
        m.insert("vcpus".into(), json!(f.vcpus));
        m.insert("ram".into(), json!(f.ram));
        m.insert("disk".into(), json!(f.disk));
        m.insert("swap".into(), json!(""));
        m.insert("rxtx_factor".into(), json!(1.0));
        m.insert("os-flavor-access:is_public".into(), json!(true));
        m.insert("OS-FLV-EXT-DATA:ephemeral".into(), json!(0));
        m.insert("OS-FLV-DISABLED:disabled".into(), json!(false));
    }
    body
}

fn md5_of(text: &str) -> u128 {
    use md5::Digest;
    u128::from_be_bytes(md5::Md5::digest(text.as_bytes()).into())
}

/// Nova's key fingerprint: MD5 of the key blob, colon-separated hex.
pub fn fingerprint(public_key: &str) -> Option<String> {
    use base64::Engine;
    use md5::Digest;
    let mut parts = public_key.split_whitespace();
    let kind = parts.next()?;
    if !kind.starts_with("ssh-") && !kind.starts_with("ecdsa-") {
        return None;
    }
    let blob = base64::engine::general_purpose::STANDARD.decode(parts.next()?).ok()?;
    // The blob starts with its own key type, length-prefixed.
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    if blob.get(4..4 + len)? != kind.as_bytes() {
        return None;
    }
    let digest = md5::Md5::digest(&blob);
    Some(digest.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":"))
}

/// The `Host` origin a request came to (`http://127.0.0.1:PORT`).
pub fn origin(headers: &axum::http::HeaderMap) -> String {
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    format!("http://{host}")
}
