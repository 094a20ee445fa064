//! The emulator's objects (servers, volumes, flexible IPs, images and the snapshots a backup
//! makes, tasks, the default security groups) in `tarn_sdk::sim::Store`s, the seed catalogue (public images per zone, the server
//! types of `products/servers` with their volume limits), their JSON as the API shows it, and
//! the snapshot that keeps them between runs.
//!
//! Must not parse requests or choose status codes: the route modules do that.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use tarn_sdk::sim::{EmulatorError, Store, read_snapshot, write_snapshot};

/// The Organization (and default Project) every emulated object belongs to unless told otherwise.
pub const ORGANIZATION_ID: &str = "6a0c2ca8-917a-418a-90a3-05949b55a7ae";

const GB: u64 = 1_000_000_000;

/// A server type: name, CPUs, RAM in GB, and the local volume limits in GB.
pub struct ServerType {
    pub name: &'static str,
    pub ncpus: u32,
    pub ram_gb: u64,
    pub min_gb: u64,
    pub max_gb: u64,
    pub hourly_price: f64,
}

/// The commercial types every zone offers.
pub const SERVER_TYPES: &[ServerType] = &[
    ServerType { name: "DEV1-S", ncpus: 2, ram_gb: 2, min_gb: 10, max_gb: 20, hourly_price: 0.0088 },
    ServerType { name: "DEV1-M", ncpus: 3, ram_gb: 4, min_gb: 10, max_gb: 40, hourly_price: 0.0198 },
    ServerType { name: "DEV1-L", ncpus: 4, ram_gb: 8, min_gb: 10, max_gb: 80, hourly_price: 0.042 },
    ServerType { name: "DEV1-XL", ncpus: 4, ram_gb: 12, min_gb: 10, max_gb: 120, hourly_price: 0.0638 },
    ServerType { name: "GP1-XS", ncpus: 4, ram_gb: 16, min_gb: 150, max_gb: 150, hourly_price: 0.091 },
    ServerType { name: "GP1-S", ncpus: 8, ram_gb: 32, min_gb: 300, max_gb: 300, hourly_price: 0.187 },
];

/// Public images every zone has: label, name, root size in GB.
pub const SEED_IMAGES: &[(&str, &str, u64)] = &[
    ("ubuntu_jammy", "Ubuntu 22.04 Jammy Jellyfish", 10),
    ("ubuntu_noble", "Ubuntu 24.04 Noble Numbat", 10),
    ("debian_bookworm", "Debian Bookworm", 10),
];

pub fn server_type(name: &str) -> Option<&'static ServerType> {
    SERVER_TYPES.iter().find(|t| t.name == name)
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Server {
    pub id: String,
    pub zone: String,
    pub name: String,
    pub project: String,
    pub commercial_type: String,
    pub tags: Vec<String>,
    pub dynamic_ip_required: bool,
    pub enable_ipv6: bool,
    pub boot_type: String,
    pub image_id: Option<String>,
    pub state: String,
    pub security_group_id: String,
    /// Volume ids by position ("0" is the root volume).
    pub volumes: BTreeMap<usize, String>,
    pub dynamic_address: String,
    pub ipv6_address: String,
    pub private_ip: String,
    pub user_data: BTreeMap<String, String>,
    pub creation_date: String,
    pub modification_date: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Volume {
    pub id: String,
    pub zone: String,
    pub name: String,
    pub project: String,
    pub size: u64,
    pub volume_type: String,
    pub tags: Vec<String>,
    pub server_id: Option<String>,
    pub creation_date: String,
    pub modification_date: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Ip {
    pub id: String,
    pub zone: String,
    pub address: String,
    pub project: String,
    pub tags: Vec<String>,
    pub server_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub reverse: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Image {
    pub id: String,
    pub zone: String,
    pub name: String,
    pub label: String,
    pub root_size: u64,
    pub public: bool,
    pub creation_date: String,
    /// The server a backup made it from (empty for the seed's public images).
    #[serde(default)]
    pub from_server: String,
    #[serde(default)]
    pub project: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// `creating` until its backup task ends, then `available`.
    #[serde(default = "available")]
    pub state: String,
    /// The snapshots of a backup: the root volume's, then the others by position.
    #[serde(default)]
    pub root_snapshot: Option<String>,
    #[serde(default)]
    pub extra_snapshots: BTreeMap<usize, String>,
    #[serde(default)]
    pub modification_date: String,
}

fn available() -> String {
    "available".into()
}

/// A snapshot of a volume, made by a server backup.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VolumeSnapshot {
    pub id: String,
    pub zone: String,
    pub name: String,
    pub project: String,
    pub size: u64,
    pub volume_type: String,
    pub base_volume: (String, String),
    /// `snapshotting` until its backup task ends, then `available`.
    pub state: String,
    pub creation_date: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SecurityGroup {
    pub id: String,
    pub zone: String,
    pub project: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub stateful: bool,
    #[serde(default)]
    pub inbound_default_policy: String,
    #[serde(default)]
    pub outbound_default_policy: String,
    #[serde(default)]
    pub project_default: bool,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub creation_date: String,
    #[serde(default)]
    pub modification_date: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rule {
    pub id: String,
    pub group_id: String,
    pub zone: String,
    pub protocol: String,
    pub direction: String,
    pub action: String,
    pub ip_range: String,
    pub dest_port_from: Option<u32>,
    pub dest_port_to: Option<u32>,
    pub position: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Task {
    pub id: String,
    pub zone: String,
    pub description: String,
    pub server_id: String,
    /// The server state the task ends in.
    pub target: String,
    pub status: String,
    pub started_at: String,
    pub terminated_at: Option<String>,
    /// Unix milliseconds at which the task succeeds.
    pub done_at: u64,
    /// The image a backup task makes (its `href_result`); the server's state then stays.
    #[serde(default)]
    pub image_id: Option<String>,
}

/// Everything the emulator holds. Clones share the objects.
#[derive(Debug, Clone, Default)]
pub struct Data {
    pub servers: Store<Server>,
    pub volumes: Store<Volume>,
    pub ips: Store<Ip>,
    pub images: Store<Image>,
    pub snapshots: Store<VolumeSnapshot>,
    pub groups: Store<SecurityGroup>,
    pub rules: Store<Rule>,
    pub tasks: Store<Task>,
    /// Security groups allowed per Project and zone (the account's quota).
    pub group_quota: usize,
    /// How long a server action takes.
    pub action_time: Duration,
    /// Serialises changes that touch several stores (a server and its volumes).
    pub changing: Arc<Mutex<()>>,
    snapshot: Option<PathBuf>,
    writing: Arc<Mutex<()>>,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    servers: Vec<Server>,
    volumes: Vec<Volume>,
    ips: Vec<Ip>,
    images: Vec<Image>,
    #[serde(default)]
    snapshots: Vec<VolumeSnapshot>,
    groups: Vec<SecurityGroup>,
    #[serde(default)]
    rules: Vec<Rule>,
    tasks: Vec<Task>,
}

impl Data {
    /// The seed images, in memory only.
    pub fn seeded(action_time: Duration) -> Data {
        let data = Data { action_time, ..Data::default() };
        for zone in crate::api::ZONES {
            for (label, name, size) in SEED_IMAGES {
                let image = Image {
                    id: seed_id(&format!("image:{zone}:{label}")),
                    zone: zone.to_string(),
                    name: name.to_string(),
                    label: label.to_string(),
                    root_size: size * GB,
                    public: true,
                    creation_date: "2024-04-25T09:00:00.000000+00:00".into(),
                    from_server: String::new(),
                    project: ORGANIZATION_ID.into(),
                    tags: Vec::new(),
                    state: available(),
                    root_snapshot: None,
                    extra_snapshots: BTreeMap::new(),
                    modification_date: "2024-04-25T09:00:00.000000+00:00".into(),
                };
                data.images.put(&image.id.clone(), image);
            }
        }
        data
    }

    /// The objects of `snapshot` when that file exists, else the seed; changes are written back.
    pub fn open(snapshot: PathBuf, action_time: Duration) -> Result<Data, EmulatorError> {
        match read_snapshot(&snapshot)? {
            None => {
                let data = Data { snapshot: Some(snapshot), ..Data::seeded(action_time) };
                data.persist();
                Ok(data)
            }
            Some(json) => {
                let saved: Snapshot = serde_json::from_value(json).map_err(|e| EmulatorError::Snapshot {
                    path: snapshot.clone(),
                    detail: format!("not a scaleway emulator snapshot: {e}"),
                })?;
                let data = Data { snapshot: Some(snapshot), action_time, ..Data::default() };
                saved.servers.into_iter().for_each(|o| drop(data.servers.put(&o.id.clone(), o)));
                saved.volumes.into_iter().for_each(|o| drop(data.volumes.put(&o.id.clone(), o)));
                saved.ips.into_iter().for_each(|o| drop(data.ips.put(&o.id.clone(), o)));
                saved.images.into_iter().for_each(|o| drop(data.images.put(&o.id.clone(), o)));
                saved.snapshots.into_iter().for_each(|o| drop(data.snapshots.put(&o.id.clone(), o)));
                saved.groups.into_iter().for_each(|o| drop(data.groups.put(&o.id.clone(), o)));
                saved.rules.into_iter().for_each(|o| drop(data.rules.put(&o.id.clone(), o)));
                saved.tasks.into_iter().for_each(|o| drop(data.tasks.put(&o.id.clone(), o)));
                Ok(data)
            }
        }
    }

    /// Writes the snapshot, if the emulator keeps one. A failure is logged, not fatal.
    pub fn persist(&self) {
        let Some(path) = &self.snapshot else { return };
        let _guard = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = write_snapshot(path, &self.dump()) {
            tracing::warn!("cannot write the scaleway emulator snapshot {}: {e}", path.display());
        }
    }

    pub fn dump(&self) -> Json {
        serde_json::to_value(Snapshot {
            servers: self.servers.list(),
            volumes: self.volumes.list(),
            ips: self.ips.list(),
            images: self.images.list(),
            snapshots: self.snapshots.list(),
            groups: self.groups.list(),
            rules: self.rules.list(),
            tasks: self.tasks.list(),
        })
        .unwrap_or(Json::Null)
    }

    /// Finishes the tasks whose time has come: the task succeeds, its server reaches the target
    /// state. Called before every answer that shows a task or a server.
    pub fn settle(&self) {
        let now = now_ms();
        let mut changed = false;
        for task in self.tasks.list().into_iter().filter(|t| t.status != "success" && t.done_at <= now) {
            self.tasks.update(&task.id, |t| {
                t.status = "success".into();
                t.terminated_at = Some(now_text());
            });
            match &task.image_id {
                Some(image) => {
                    let snapshots = self.images.get(image).map(|i| snapshot_ids(&i)).unwrap_or_default();
                    self.images.update(image, |i| i.state = available());
                    for id in &snapshots {
                        self.snapshots.update(id, |s| s.state = available());
                    }
                }
                None => drop(self.servers.update(&task.server_id, |s| s.state = task.target.clone())),
            }
            changed = true;
        }
        if changed {
            self.persist();
        }
    }

    /// The Project's default security group in `zone`, made on first use as the API does.
    pub fn default_group(&self, zone: &str, project: &str) -> SecurityGroup {
        if let Some(g) =
            self.groups.list().into_iter().find(|g| g.zone == zone && g.project == project && g.project_default)
        {
            return g;
        }
        let stamp = now_text();
        let group = SecurityGroup {
            id: new_id(),
            zone: zone.into(),
            project: project.into(),
            name: "Default security group".into(),
            description: "Auto generated security group.".into(),
            stateful: true,
            inbound_default_policy: "accept".into(),
            outbound_default_policy: "accept".into(),
            project_default: true,
            tags: Vec::new(),
            creation_date: stamp.clone(),
            modification_date: stamp,
        };
        self.groups.put(&group.id.clone(), group.clone());
        group
    }

    /// The next free address of a pool: dynamic (51.15.x.y) or flexible (51.158.x.y) IPv4.
    pub fn next_address(&self, prefix: &str) -> String {
        let taken: Vec<String> = self
            .ips
            .list()
            .into_iter()
            .map(|i| i.address)
            .chain(self.servers.list().into_iter().map(|s| s.dynamic_address))
            .collect();
        (1u32..65_000)
            .map(|n| format!("{prefix}.{}.{}", n / 250, n % 250 + 2))
            .find(|a| !taken.contains(a))
            .unwrap_or_else(|| format!("{prefix}.255.254"))
    }
}

/// An id derived from `seed`, so seed objects have the same id in every emulator.
pub fn seed_id(seed: &str) -> String {
    let mut bytes = [0u8; 16];
    for (i, b) in seed.bytes().enumerate() {
        bytes[i % 16] = bytes[i % 16].wrapping_mul(31).wrapping_add(b);
    }
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Now, as the API writes times (RFC 3339, microseconds, +00:00).
pub fn now_text() -> String {
    let t = time::OffsetDateTime::now_utc();
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]+00:00");
    t.format(&format).unwrap_or_else(|_| "1970-01-01T00:00:00.000000+00:00".into())
}

impl Volume {
    pub fn to_json(&self, data: &Data) -> Json {
        let server = self
            .server_id
            .as_ref()
            .and_then(|id| data.servers.get(id))
            .map_or(Json::Null, |s| json!({"id": s.id, "name": s.name}));
        without_nulls(json!({
            "id": self.id,
            "name": self.name,
            "export_uri": "",
            "size": self.size,
            "volume_type": self.volume_type,
            "creation_date": self.creation_date,
            "modification_date": self.modification_date,
            "organization": ORGANIZATION_ID,
            "project": self.project,
            "tags": self.tags,
            "server": server,
            "state": "available",
            "zone": self.zone,
        }))
    }

    /// The form a server's `volumes` map shows.
    fn in_server(&self, server: &Server, boot: bool) -> Json {
        json!({
            "id": self.id,
            "name": self.name,
            "export_uri": "",
            "organization": ORGANIZATION_ID,
            "server": {"id": server.id, "name": server.name},
            "size": self.size,
            "volume_type": self.volume_type,
            "creation_date": self.creation_date,
            "modification_date": self.modification_date,
            "state": "available",
            "project": self.project,
            "boot": boot,
            "zone": self.zone,
        })
    }
}

impl Ip {
    pub fn to_json(&self, data: &Data) -> Json {
        let server = self
            .server_id
            .as_ref()
            .and_then(|id| data.servers.get(id))
            .map_or(Json::Null, |s| json!({"id": s.id, "name": s.name}));
        without_nulls(json!({
            "id": self.id,
            "address": self.address,
            "reverse": self.reverse,
            "server": server,
            "organization": ORGANIZATION_ID,
            "tags": self.tags,
            "project": self.project,
            "type": self.kind,
            "state": if self.server_id.is_some() { "attached" } else { "detached" },
            "prefix": format!("{}/32", self.address),
            "ipam_id": seed_id(&format!("ipam:{}", self.id)),
            "zone": self.zone,
        }))
    }

    /// The form a server's `public_ips` list shows.
    fn in_server(&self) -> Json {
        json!({
            "id": self.id,
            "address": self.address,
            "gateway": "62.210.0.1",
            "netmask": "32",
            "family": "inet",
            "dynamic": false,
            "provisioning_mode": "dhcp",
            "tags": self.tags,
            "ipam_id": seed_id(&format!("ipam:{}", self.id)),
            "state": "attached",
        })
    }
}

/// Every snapshot an image holds.
pub fn snapshot_ids(image: &Image) -> Vec<String> {
    image.root_snapshot.iter().chain(image.extra_snapshots.values()).cloned().collect()
}

impl Image {
    pub fn to_json(&self, data: &Data) -> Json {
        let snapshot = |id: &String| data.snapshots.get(id);
        let root = match self.root_snapshot.as_ref().and_then(snapshot) {
            Some(s) => json!({"id": s.id, "name": s.name, "size": s.size, "volume_type": s.volume_type}),
            // A seed image's root snapshot is not listed anywhere: a stable id stands for it.
            None => json!({"id": seed_id(&format!("snapshot:{}", self.id)), "name": format!("{} root", self.name),
                "size": self.root_size, "volume_type": "l_ssd"}),
        };
        // The vendor file types extra volumes as Volume; the API fills them from the snapshots.
        let extra: serde_json::Map<String, Json> = self
            .extra_snapshots
            .iter()
            .filter_map(|(i, id)| snapshot(id).map(|s| (i.to_string(), s)))
            .map(|(i, s)| {
                (
                    i,
                    json!({"id": s.id, "name": s.name, "export_uri": "", "size": s.size, "volume_type": s.volume_type,
                    "creation_date": s.creation_date, "modification_date": s.creation_date,
                    "organization": ORGANIZATION_ID, "project": s.project, "tags": [], "state": "available",
                    "zone": s.zone}),
                )
            })
            .collect();
        let modified = if self.modification_date.is_empty() { &self.creation_date } else { &self.modification_date };
        json!({
            "id": self.id,
            "name": self.name,
            "arch": "x86_64",
            "creation_date": self.creation_date,
            "modification_date": modified,
            "extra_volumes": extra,
            "from_server": self.from_server,
            "organization": ORGANIZATION_ID,
            "public": self.public,
            "root_volume": root,
            "state": self.state,
            "project": if self.project.is_empty() { ORGANIZATION_ID } else { self.project.as_str() },
            "tags": self.tags,
            "zone": self.zone,
        })
    }
}

impl VolumeSnapshot {
    pub fn to_json(&self) -> Json {
        json!({
            "id": self.id,
            "name": self.name,
            "organization": ORGANIZATION_ID,
            "project": self.project,
            "tags": [],
            "volume_type": self.volume_type,
            "size": self.size,
            "state": self.state,
            "base_volume": {"id": self.base_volume.0, "name": self.base_volume.1},
            "creation_date": self.creation_date,
            "modification_date": self.creation_date,
            "zone": self.zone,
            "error_reason": null,
        })
    }
}

impl SecurityGroup {
    pub fn to_json(&self, data: &Data) -> Json {
        let servers: Vec<Json> = data
            .servers
            .list()
            .into_iter()
            .filter(|s| s.security_group_id == self.id)
            .map(|s| json!({"id": s.id, "name": s.name}))
            .collect();
        json!({
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "enable_default_security": true,
            "inbound_default_policy": self.inbound_default_policy,
            "outbound_default_policy": self.outbound_default_policy,
            "organization": ORGANIZATION_ID,
            "project": self.project,
            "tags": self.tags,
            "organization_default": self.project_default,
            "project_default": self.project_default,
            "creation_date": self.creation_date,
            "modification_date": self.modification_date,
            "servers": servers,
            "stateful": self.stateful,
            "state": "available",
            "zone": self.zone,
        })
    }
}

impl Rule {
    pub fn to_json(&self) -> Json {
        json!({
            "id": self.id,
            "protocol": self.protocol,
            "direction": self.direction,
            "action": self.action,
            "ip_range": self.ip_range,
            "dest_port_from": self.dest_port_from,
            "dest_port_to": self.dest_port_to,
            "position": self.position,
            "editable": true,
            "zone": self.zone,
        })
    }
}

impl Task {
    pub fn to_json(&self) -> Json {
        json!({
            "id": self.id,
            "description": self.description,
            "status": self.status,
            "href_from": format!("/servers/{}/action", self.server_id),
            "href_result": match &self.image_id {
                Some(image) => format!("/images/{image}"),
                None => format!("/servers/{}", self.server_id),
            },
            "started_at": self.started_at,
            "terminated_at": self.terminated_at,
            "progress": if self.status == "success" { 100 } else { 0 },
            "zone": self.zone,
        })
    }
}

/// The actions the API allows in each state.
pub fn allowed_actions(state: &str) -> Vec<&'static str> {
    match state {
        "running" => vec!["poweroff", "terminate", "reboot", "stop_in_place", "backup"],
        "stopped" => vec!["poweron", "backup"],
        "stopped in place" => vec!["poweron", "poweroff", "backup"],
        _ => vec![],
    }
}

impl Server {
    pub fn to_json(&self, data: &Data) -> Json {
        let volumes: serde_json::Map<String, Json> = self
            .volumes
            .iter()
            .filter_map(|(i, id)| data.volumes.get(id).map(|v| (i.to_string(), v.in_server(self, *i == 0))))
            .collect();
        let flexible: Vec<Ip> =
            data.ips.list().into_iter().filter(|ip| ip.server_id.as_deref() == Some(self.id.as_str())).collect();
        let dynamic = self.dynamic_ip_required && flexible.is_empty() && !self.dynamic_address.is_empty();
        let public_ip = if let Some(ip) = flexible.first() {
            ip.in_server()
        } else if dynamic {
            json!({"id": seed_id(&format!("dynamic:{}", self.id)), "address": self.dynamic_address, "gateway": "62.210.0.1",
                "netmask": "32", "family": "inet", "dynamic": true, "provisioning_mode": "dhcp", "tags": [],
                "ipam_id": seed_id(&format!("ipam-dynamic:{}", self.id)), "state": "attached"})
        } else {
            Json::Null
        };
        let mut public_ips: Vec<Json> = flexible.iter().map(Ip::in_server).collect();
        if dynamic {
            public_ips.push(public_ip.clone());
        }
        let image = self.image_id.as_ref().and_then(|id| data.images.get(id)).map_or(Json::Null, |i| i.to_json(data));
        let group = data.groups.get(&self.security_group_id);
        let ipv6 = if self.enable_ipv6 {
            json!({"address": self.ipv6_address, "gateway": "2001:bc8:1640::", "netmask": "64"})
        } else {
            Json::Null
        };
        without_nulls(json!({
            "id": self.id,
            "name": self.name,
            "organization": ORGANIZATION_ID,
            "project": self.project,
            "allowed_actions": allowed_actions(&self.state),
            "tags": self.tags,
            "commercial_type": self.commercial_type,
            "creation_date": self.creation_date,
            "dynamic_ip_required": self.dynamic_ip_required,
            "routed_ip_enabled": true,
            "enable_ipv6": self.enable_ipv6,
            "hostname": self.name,
            "image": image,
            "protected": false,
            "private_ip": self.private_ip,
            "public_ip": public_ip,
            "public_ips": public_ips,
            "mac_address": "de:00:00:00:00:01",
            "modification_date": self.modification_date,
            "state": self.state,
            "location": {"cluster_id": "1", "hypervisor_id": "101", "node_id": "7", "platform_id": "14", "zone_id": self.zone},
            "ipv6": ipv6,
            "boot_type": self.boot_type,
            "volumes": volumes,
            "security_group": group.map_or(Json::Null, |g| json!({"id": g.id, "name": g.name})),
            "maintenances": [],
            "state_detail": if self.state == "running" { "booted" } else { "" },
            "arch": "x86_64",
            "placement_group": null,
            "private_nics": [],
            "zone": self.zone,
            "filesystems": [],
            "end_of_service": false,
        }))
    }
}

/// Drops the object-valued fields that are null. The API sends `null` there (no image, no
/// public IP, not attached), but the vendor file declares those fields non-nullable objects,
/// so the emulator leaves them out, which both readings accept. Nullable fields keep their null.
fn without_nulls(mut j: Json) -> Json {
    const OBJECTS: &[&str] = &["image", "public_ip", "ipv6", "placement_group", "security_group", "server"];
    if let Json::Object(m) = &mut j {
        m.retain(|k, v| !(v.is_null() && OBJECTS.contains(&k.as_str())));
    }
    j
}

/// The `products/servers` entry of a type.
pub fn type_json(t: &ServerType) -> Json {
    json!({
        "monthly_price": t.hourly_price * 730.0,
        "hourly_price": t.hourly_price,
        "alt_names": [],
        "per_volume_constraint": {"l_ssd": {"min_size": GB, "max_size": t.max_gb * GB}},
        "volumes_constraint": {"min_size": t.min_gb * GB, "max_size": t.max_gb * GB},
        "ncpus": t.ncpus,
        "gpu": 0,
        "ram": t.ram_gb * 1024 * 1024 * 1024,
        "arch": "x86_64",
        "baremetal": false,
        "network": {"interfaces": [{"internal_bandwidth": 1_000_000_000u64, "internet_bandwidth": 200_000_000u64}],
            "sum_internal_bandwidth": 1_000_000_000u64, "sum_internet_bandwidth": 200_000_000u64, "ipv6_support": true},
        "capabilities": {"block_storage": true, "boot_types": ["local", "rescue"], "max_file_systems": 0},
        "scratch_storage_max_size": null,
        "block_bandwidth": 262_144_000u64,
        "end_of_service": false,
    })
}
