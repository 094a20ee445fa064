//! The pagw provider against a real MariaDB (see `tarn_provider_pagw::testing`): one server per
//! test binary, a fresh database with the Giif schema per test. One binary, a module per concern.
//!
//! - `slots` — the claim transaction, its toolbox, concurrent claims, the default singleton,
//!   release, the `pagw_slots` data source and `pagw_slot_range`
//! - `build` — the image build over SSH with Docker, duplicate address, rollback, zombie guard
//! - `proxmox` — the proxmox-ve-ssh driver against the Proxmox emulator (spec-checked)
//! - `proxmox_api` — the proxmox-ve-api driver (tasks polled, faults rolled back), the
//!   verification after deploy, and Proxmox backup jobs through both drivers
//! - `proxmox_tls` — the proxmox-ve-api driver's TLS: pinned fingerprint, CA file, refusals,
//!   plain HTTP refused
//! - `libvirt` — the libvirt-ssh driver against the machine's real libvirtd (QEMU, TCG) and its backups
//! - `lifecycle` — `pagw_instance` plan checks, create, drift, import, adopt, destroy

mod support;

mod build;
mod libvirt;
mod lifecycle;
mod proxmox;
mod proxmox_api;
mod proxmox_tls;
mod slots;
