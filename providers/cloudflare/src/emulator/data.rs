//! The emulator's objects (zones, DNS records, zone lockdown rules) in `tarn_sdk::sim::Store`s,
//! their JSON as the API shows it, and the snapshot that keeps them between runs.
//!
//! Must not parse requests or choose status codes: the route modules do that.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};
use tarn_sdk::sim::{EmulatorError, Store, read_snapshot, write_snapshot};

/// Zones every fresh emulator has: the API subset has no call that creates one.
pub const SEED_ZONES: &[&str] = &["example.com", "example.net", "example.org"];

/// The account every emulated zone belongs to.
pub const ACCOUNT_ID: &str = "0a5b0c5d0e5f0a5b0c5d0e5f0a5b0c5d";
const ACCOUNT_NAME: &str = "tarn sandbox";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Zone {
    pub id: String,
    pub name: String,
    pub created_on: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    pub id: String,
    pub zone_id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub content: String,
    pub ttl: u32,
    pub proxied: bool,
    pub priority: Option<u32>,
    pub comment: Option<String>,
    pub tags: Vec<String>,
    pub created_on: String,
    pub modified_on: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Configuration {
    pub target: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Lockdown {
    pub id: String,
    pub zone_id: String,
    pub urls: Vec<String>,
    pub configurations: Vec<Configuration>,
    pub description: String,
    pub paused: bool,
    pub created_on: String,
    pub modified_on: String,
}

/// Everything the emulator holds. Clones share the objects.
#[derive(Debug, Clone, Default)]
pub struct Data {
    pub zones: Store<Zone>,
    pub records: Store<Record>,
    pub lockdowns: Store<Lockdown>,
    snapshot: Option<PathBuf>,
    /// Serialises snapshot writes so an older state never overwrites a newer one.
    writing: Arc<Mutex<()>>,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    zones: Vec<Zone>,
    records: Vec<Record>,
    lockdowns: Vec<Lockdown>,
}

impl Data {
    /// The seed zones, in memory only.
    pub fn seeded() -> Data {
        let data = Data::default();
        for name in SEED_ZONES {
            data.add_zone(name);
        }
        data
    }

    /// The objects of `snapshot` when that file exists, else the seed zones; changes are
    /// written back to it.
    pub fn open(snapshot: PathBuf) -> Result<Data, EmulatorError> {
        match read_snapshot(&snapshot)? {
            None => {
                let data = Data { snapshot: Some(snapshot), ..Data::seeded() };
                data.persist();
                Ok(data)
            }
            Some(json) => {
                let data = Data { snapshot: Some(snapshot.clone()), ..Data::default() };
                let path = snapshot;
                let saved: Snapshot = serde_json::from_value(json).map_err(|e| EmulatorError::Snapshot {
                    path,
                    detail: format!("not a cloudflare emulator snapshot: {e}"),
                })?;
                for z in saved.zones {
                    data.zones.put(&z.id.clone(), z);
                }
                for r in saved.records {
                    data.records.put(&r.id.clone(), r);
                }
                for l in saved.lockdowns {
                    data.lockdowns.put(&l.id.clone(), l);
                }
                Ok(data)
            }
        }
    }

    /// Adds a zone (idempotent by name) and returns it.
    pub fn add_zone(&self, name: &str) -> Zone {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if let Some(z) = self.zones.list().into_iter().find(|z| z.name == name) {
            return z;
        }
        let zone = Zone { id: zone_id(&name), name, created_on: now() };
        self.zones.put(&zone.id.clone(), zone.clone());
        self.persist();
        zone
    }

    /// Writes the snapshot, if the emulator keeps one. A failure is logged, not fatal: the
    /// answer already given stays true for this process.
    pub fn persist(&self) {
        let Some(path) = &self.snapshot else { return };
        let _guard = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = write_snapshot(path, &self.dump()) {
            tracing::warn!("cannot write the cloudflare emulator snapshot {}: {e}", path.display());
        }
    }

    /// Every object, as the snapshot holds them.
    pub fn dump(&self) -> Json {
        serde_json::to_value(Snapshot {
            zones: self.zones.list(),
            records: self.records.list(),
            lockdowns: self.lockdowns.list(),
        })
        .unwrap_or(Json::Null)
    }
}

/// A zone's id: derived from its name, so the same zone has the same id in every emulator.
pub fn zone_id(name: &str) -> String {
    let digest = Sha256::digest(format!("tarn-sim-zone:{name}").as_bytes());
    hex::encode(&digest[..16])
}

/// A fresh 32-hex-digit identifier, the shape of Cloudflare's.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Now, as RFC 3339 with microseconds, the way the API writes times.
pub fn now() -> String {
    let t = time::OffsetDateTime::now_utc();
    let micros = t.microsecond();
    let t = t.replace_nanosecond(micros * 1000).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

impl Zone {
    pub fn to_json(&self) -> Json {
        json!({
            "id": self.id,
            "name": self.name,
            "status": "active",
            "paused": false,
            "type": "full",
            "development_mode": 0,
            "name_servers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
            "original_name_servers": null,
            "original_registrar": null,
            "original_dnshost": null,
            "created_on": self.created_on,
            "modified_on": self.created_on,
            "activated_on": self.created_on,
            "meta": {"step": 4, "custom_certificate_quota": 0, "page_rule_quota": 3, "phishing_detected": false},
            "owner": {"id": ACCOUNT_ID, "type": "organization", "name": ACCOUNT_NAME},
            "account": {"id": ACCOUNT_ID, "name": ACCOUNT_NAME},
            "permissions": ["#dns_records:edit", "#dns_records:read", "#zone:read"],
        })
    }
}

impl Record {
    /// Whether Cloudflare can proxy this record type.
    pub fn proxiable(kind: &str) -> bool {
        matches!(kind, "A" | "AAAA" | "CNAME")
    }

    pub fn to_json(&self, zone_name: &str) -> Json {
        let mut j = json!({
            "id": self.id,
            "zone_id": self.zone_id,
            "zone_name": zone_name,
            "name": self.name,
            "type": self.kind,
            "content": self.content,
            "proxiable": Record::proxiable(&self.kind),
            "proxied": self.proxied,
            "ttl": self.ttl,
            "locked": false,
            "meta": {"auto_added": false, "source": "primary"},
            "tags": self.tags,
            "created_on": self.created_on,
            "modified_on": self.modified_on,
        });
        if let Some(p) = self.priority {
            j["priority"] = json!(p);
        }
        if let Some(c) = &self.comment {
            j["comment"] = json!(c);
        }
        j
    }
}

impl Lockdown {
    pub fn to_json(&self) -> Json {
        json!({
            "id": self.id,
            "paused": self.paused,
            "description": self.description,
            "urls": self.urls,
            "configurations": self.configurations,
            "created_on": self.created_on,
            "modified_on": self.modified_on,
        })
    }
}
