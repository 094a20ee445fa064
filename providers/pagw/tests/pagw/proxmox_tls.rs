//! The `proxmox-ve-api` driver's TLS, end to end against the emulator on HTTPS (a cluster CA
//! and the node's certificate made at its start, as a Proxmox install has them): the pinned
//! fingerprint (the other API tests' default), a wrong one refused before any request with the
//! host and both fingerprints named, the slot's fingerprint winning over the provider's, the
//! CA-file mode trusting the host's CA and refusing another CA's, the system's roots refusing a
//! self-signed host, and a plain-HTTP API URL refused before anything is sent.

use tarn_provider_pagw::emulator::certs::Certificates;
use tarn_sdk::Value;

use crate::build::{CUSTOMIZE, TestHost, context, gateway, host_with_driver, leftovers};
use crate::proxmox::vms;
use crate::support::*;

const API: &str = "proxmox-ve-api";

/// Nothing reached the API (no request carried the token, no answer was recorded) and nothing
/// of the create is left: no VM, image or record.
fn nothing_sent_nothing_left(h: &TestHost, g: &Giif) {
    assert!(h.pve.emulator.state.lock().unwrap().authorizations.is_empty(), "a request reached the API");
    assert!(h.recorder.exchanges().is_empty(), "{:?}", h.recorder.exchanges().len());
    assert!(vms(h).is_empty(), "{:?}", vms(h));
    assert!(leftovers(h.home.path()).is_empty(), "{:?}", leftovers(h.home.path()));
    assert_eq!(g.sql("SELECT COUNT(*) FROM pagw_instances").trim(), "0");
    assert_eq!(g.sql("SELECT COUNT(*) FROM guacamole_connection").trim(), "0");
}

/// A certificate (and CA) the emulator does not serve.
fn stranger() -> Certificates {
    Certificates::generate("another CA", "elsewhere").unwrap()
}

#[tokio::test]
async fn a_wrong_pinned_fingerprint_is_refused_before_any_request_naming_the_host_and_both_fingerprints() {
    let g = giif().await;
    let h = host_with_driver(API).await;
    let wrong = stranger().fingerprint();
    let p = h.configured(&g, &[("proxmox_tls_fingerprint", Value::string(wrong.clone()))]).await;
    h.load(&p, &h.definition(&h.definition_address(), &h.definition_address())).await;
    let ctx = context(CUSTOMIZE);
    let started = std::time::Instant::now();
    let e = create(&p, "pagw_instance", gateway("pinned", ctx.path())).await.unwrap_err();
    let host = h.pve.emulator.server.addr().to_string();
    assert!(e.contains(&format!("could not connect to the Proxmox API at {host}")), "{e}");
    assert!(
        e.contains(&format!("the SHA-256 fingerprint {}, not the pinned {wrong}", h.pve.emulator.fingerprint())),
        "{e}"
    );
    assert!(e.contains("the provider's proxmox_tls_fingerprint") && e.contains("nothing was sent"), "{e}");
    assert!(e.contains("openssl x509 -noout -fingerprint -sha256 -in /etc/pve/local/pve-ssl.pem"), "{e}");
    assert!(e.contains("checking the Proxmox API before the build"), "refused before the build: {e}");
    assert!(e.contains("after 1 attempts"), "a refused certificate is not tried again: {e}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
    assert!(!e.contains(crate::build::API_TOKEN), "{e}");
    nothing_sent_nothing_left(&h, &g);
}

#[tokio::test]
async fn the_slots_own_fingerprint_wins_over_the_providers() {
    let g = giif().await;
    let h = host_with_driver(API).await;
    let p = h.configured(&g, &[("proxmox_tls_fingerprint", Value::string(stranger().fingerprint()))]).await;
    let own = format!("PAGW_PVE_TLS_FINGERPRINT='{}'\n", h.pve.emulator.fingerprint());
    h.load(&p, &format!("{own}{}", h.definition(&h.definition_address(), &h.definition_address()))).await;
    let ctx = context(CUSTOMIZE);
    let v = create(&p, "pagw_instance", gateway("slotpin", ctx.path())).await.unwrap();
    assert_eq!(
        vms(&h).into_iter().map(|vm| (vm.name, vm.running)).collect::<Vec<_>>(),
        [("PAGW-slotpin".into(), true)]
    );
    delete(&p, "pagw_instance", &v).await.unwrap();
    assert!(vms(&h).is_empty());
}

#[tokio::test]
async fn the_ca_file_mode_trusts_the_hosts_ca_and_refuses_a_certificate_it_did_not_issue() {
    let g = giif().await;
    let h = host_with_driver(API).await;
    // The host's CA (pve-root-ca.pem): the whole create and destroy go through.
    let ca = h.pve.ca_file().display().to_string();
    let p = h.configured(&g, &[("proxmox_ca_file", Value::string(ca))]).await;
    h.load(&p, &h.definition(&h.definition_address(), &h.definition_address())).await;
    let ctx = context(CUSTOMIZE);
    let v = create(&p, "pagw_instance", gateway("cafile", ctx.path())).await.unwrap();
    assert_eq!(vms(&h).len(), 1);
    delete(&p, "pagw_instance", &v).await.unwrap();
    assert!(vms(&h).is_empty());
    assert_eq!(g.sql("SELECT COUNT(*) FROM pagw_instances").trim(), "0");

    // Another CA: the emulator's certificate is not trusted, and nothing is sent.
    let g = giif().await;
    let h = host_with_driver(API).await;
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other-ca.pem");
    std::fs::write(&other, stranger().ca_pem).unwrap();
    let p = h.configured(&g, &[("proxmox_ca_file", Value::string(other.display().to_string()))]).await;
    h.load(&p, &h.definition(&h.definition_address(), &h.definition_address())).await;
    let e = create(&p, "pagw_instance", gateway("untrusted", ctx.path())).await.unwrap_err();
    let host = h.pve.emulator.server.addr().to_string();
    assert!(e.contains(&format!("could not connect to the Proxmox API at {host}")), "{e}");
    assert!(e.contains("invalid peer certificate") && e.contains("UnknownIssuer"), "{e}");
    assert!(e.contains(&format!("issued by the CA in proxmox_ca_file {}", other.display())), "{e}");
    assert!(e.contains("nothing was sent") && e.contains("after 1 attempts"), "{e}");
    nothing_sent_nothing_left(&h, &g);
}

#[tokio::test]
async fn without_a_fingerprint_or_ca_file_the_system_roots_refuse_the_hosts_own_certificate() {
    let g = giif().await;
    let h = host_with_driver(API).await;
    let p = h.configured(&g, &[]).await;
    h.load(&p, &h.definition(&h.definition_address(), &h.definition_address())).await;
    let ctx = context(CUSTOMIZE);
    let e = create(&p, "pagw_instance", gateway("roots", ctx.path())).await.unwrap_err();
    assert!(e.contains("invalid peer certificate") && e.contains("the system's roots"), "{e}");
    assert!(e.contains("proxmox_tls_fingerprint") && e.contains("proxmox_ca_file"), "says what to give: {e}");
    nothing_sent_nothing_left(&h, &g);
}

#[tokio::test]
async fn a_plain_http_api_url_is_refused_before_anything_is_sent_or_built() {
    let g = giif().await;
    let h = host_with_driver(API).await;
    let pinned = [("proxmox_tls_fingerprint", Value::string(h.pve.emulator.fingerprint()))];
    let p = h.configured(&g, &pinned).await;
    let definition = h.definition(&h.definition_address(), &h.definition_address());
    let https = h.pve.emulator.base_url();
    let http = https.replacen("https://", "http://", 1);
    h.load(&p, &definition.replace(&https, &http)).await;
    let ctx = context(CUSTOMIZE);
    let e = create(&p, "pagw_instance", gateway("plain", ctx.path())).await.unwrap_err();
    assert!(e.contains(&format!("PAGW_PVE_API_URL \"{http}\" is not https://")), "{e}");
    assert!(e.contains("the API token would cross the network in clear"), "{e}");
    nothing_sent_nothing_left(&h, &g);
}
