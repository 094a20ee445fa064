//! Shared helpers: a fresh Giif database on the shared test MariaDB, slots loaded into it, and a
//! provider configured on it.

use std::sync::Arc;

use tarn_provider_pagw::testing::TestMariaDb;
use tarn_sdk::{CreateRequest, DeleteRequest, PlanRequest, Provider, ReadRequest, Value};

pub const ROOF: &str = "Projects";

/// A Giif database of its own: `(server, database name, url)`.
pub struct Giif {
    pub server: &'static TestMariaDb,
    pub name: String,
    pub url: String,
}

impl Giif {
    pub fn sql(&self, sql: &str) -> String {
        self.server.sql(&self.name, sql)
    }
}

pub async fn giif() -> Giif {
    let server = TestMariaDb::shared();
    let name = server.fresh_database();
    let url = server.url(&name);
    let db = tarn_provider_pagw::db::Db::new(&url).unwrap();
    tarn_provider_pagw::db::giif::create(&db, ROOF).await.unwrap();
    Giif { server, name, url }
}

pub fn definition(first: &str, last: &str) -> String {
    format!(
        "unset PAGW_PASSWORD\n\
         PAGW_ADDRESS_RANGE_IN_PRIPS_FORMAT='{first} {last}'\n\
         PAGW_MASK=255.255.255.0\nPAGW_GATEWAY=198.51.100.1\n\
         PAGW_HOST=127.0.0.1\nPAGW_HOST_USER=root\nPAGW_HOST_HOME=/root\nPAGW_HOST_DOCKER_TMP=/tmp\n\
         PAGW_SSH_PRIVKEY='-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----'\n\
         PAGW_SSH_PUBKEY='ssh-ed25519 AAAA test'\n\
         PAGW_DEPLOY_DRIVER='proxmox-ve-ssh'\nPAGW_HOST_MGMT_BRIDGE='vmbr1'\nPAGW_MGMT_VLAN='13'\n\
         PAGW_HOST_PUB_BRIDGE='vmbr2'\nPAGW_PUB_VLAN=''\nPAGW_STORAGE_POOL='local-lvm'\n\
         PAGW_PASSWORD='must-not-be-stored'\ncreate_slots\n"
    )
}

pub async fn configured(g: &Giif) -> Arc<dyn Provider> {
    let p = tarn_provider_pagw::provider();
    p.configure(obj(&[("database_url", Value::string(g.url.clone())), ("roof_group", Value::string(ROOF))]))
        .await
        .unwrap_or_else(|e| panic!("configure: {}", e.message));
    p
}

pub fn obj(pairs: &[(&str, Value)]) -> Value {
    Value::map(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
}

pub async fn plan(p: &Arc<dyn Provider>, type_name: &str, config: Value) -> Result<Value, String> {
    p.plan(PlanRequest { type_name: type_name.into(), prior: None, proposed: config })
        .await
        .map(|r| r.planned)
        .map_err(|e| e.message)
}

/// Plans (the provider's refinement) then creates.
pub async fn create(p: &Arc<dyn Provider>, type_name: &str, config: Value) -> Result<Value, String> {
    let planned = plan(p, type_name, config).await?;
    p.create(CreateRequest { type_name: type_name.into(), planned, correlation: "c-1".into() })
        .await
        .map_err(|e| e.message)
}

pub async fn load_slots(p: &Arc<dyn Provider>, first: &str, last: &str) -> Value {
    create(p, "pagw_slot_range", obj(&[("definition", Value::string(definition(first, last)))]))
        .await
        .unwrap_or_else(|e| panic!("load slots: {e}"))
}

pub async fn read(p: &Arc<dyn Provider>, type_name: &str, state: &Value) -> Option<Value> {
    p.read(ReadRequest { type_name: type_name.into(), state: state.clone() })
        .await
        .unwrap_or_else(|e| panic!("read: {}", e.message))
}

pub async fn delete(p: &Arc<dyn Provider>, type_name: &str, state: &Value) -> Result<(), String> {
    p.delete(DeleteRequest { type_name: type_name.into(), state: state.clone() }).await.map_err(|e| e.message)
}

pub fn instance(project: &str, password: &str) -> Value {
    obj(&[("project", Value::string(project)), ("password", Value::string(password))])
}
