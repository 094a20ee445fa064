//! The built-in providers, by name. The only place that names concrete providers: the engine
//! receives them through this factory.

use std::sync::Arc;
use tarn_core::plan::ProviderFactory;
use tarn_sdk::Provider;

pub const BUILTIN: &[&str] = &[
    "cloudflare",
    "digitalocean",
    "fault",
    "local",
    "null",
    "opennebula",
    "openstack",
    "pagw",
    "pond",
    "scaleway",
    "vsn",
];

pub fn instantiate(name: &str) -> Option<Arc<dyn Provider>> {
    match name {
        "null" => Some(tarn_provider_null::provider()),
        "local" => Some(tarn_provider_local::provider()),
        "fault" => Some(tarn_provider_fault::provider()),
        "vsn" => Some(tarn_provider_vsn::provider()),
        "cloudflare" => Some(tarn_provider_cloudflare::provider()),
        "scaleway" => Some(tarn_provider_scaleway::provider()),
        "digitalocean" => Some(tarn_provider_digitalocean::provider()),
        "openstack" => Some(tarn_provider_openstack::provider()),
        "pond" => Some(tarn_provider_pond::provider()),
        "pagw" => Some(tarn_provider_pagw::provider()),
        "opennebula" => Some(tarn_provider_opennebula::provider()),
        _ => None,
    }
}

/// The factory handed to the engine.
pub struct Builtins;

impl ProviderFactory for Builtins {
    fn instantiate(&self, name: &str) -> Option<Arc<dyn Provider>> {
        instantiate(name)
    }
    fn names(&self) -> Vec<String> {
        BUILTIN.iter().map(|s| s.to_string()).collect()
    }
}

/// The providers that ship an API emulator, for `--sandbox` and `tarn sim serve`. A provider
/// crate with an emulator exposes it as `tarn_sdk::sim::Emulated`; add it here.
pub fn emulators() -> Vec<Arc<dyn tarn_sdk::sim::Emulated>> {
    vec![
        tarn_provider_cloudflare::emulated(),
        tarn_provider_digitalocean::emulated(),
        tarn_provider_opennebula::emulated(),
        tarn_provider_openstack::emulated(),
        tarn_provider_scaleway::emulated(),
    ]
}
