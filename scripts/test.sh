#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine with Rust (run as root, or with sudo).
# Installs the system packages and cargo tools the tests need where they are missing, checks
# formatting and lints, then runs every test of every crate, each under a time limit.
# CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the test harness drives for real: openssh-server for the SSH toolkit's tests
# (a real sshd on 127.0.0.1), postgresql for the PostgreSQL state backend's tests (initdb and
# postgres started on 127.0.0.1, as the `postgres` user when run as root); podman, runc and
# busybox-static for the vsn provider (a real podman driven over that sshd, images built offline).
# python3 for the example plugin (examples/plugins/kv) that the plugin protocol tests drive.
# apache2, libapache2-mod-php and php-cli for the pond provider (a real Apache with PHP serves
# the live and colour sites its tests deploy), rsync for its deployments (run on the sshd side).
# mutt for the vsn provider's alert mail (the cron scripts mail through the real mutt to an SMTP
# sink the tests start on 127.0.0.1). docker.io for the vsn provider's Docker path: the tests
# start their own dockerd (own socket and data root under a temp dir) and stop it after.
packages=(ca-certificates openssh-server postgresql podman runc busybox-static python3 apache2 libapache2-mod-php php-cli rsync mutt docker.io)
# pagw: the slot database tests start a private mariadbd (mariadb-install-db, the mariadb client);
# the image build tests run a private dockerd (docker.io) and check images with qemu-img.
packages+=(mariadb-server mariadb-client qemu-utils)
# pagw's libvirt-ssh driver is tested against this machine's libvirtd with QEMU (TCG); VLAN tags
# on bridges need Open vSwitch (userspace datapath, no kernel module). The test harness starts
# the daemons when they do not answer.
packages+=(libvirt-daemon-system libvirt-clients qemu-system-x86 openvswitch-switch)
# libxml2-utils: xmllint, with which the opennebula tests validate the emulator's XML against
# OpenNebula's XSDs (specs/opennebula-xsd/), as OpenNebula's own share/doc/xsd/test.sh does.
packages+=(libxml2-utils)
missing_packages() {
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
}
# Twice, then a check: one install can remove a package the first look found (a machine with
# qemu-utils from bookworm-backports loses it when qemu-system-x86 comes from bookworm, and
# then every pagw test lacks qemu-img).
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
updated=""
for pass in 1 2; do
  missing_packages
  [ ${#missing[@]} -gt 0 ] || break
  echo "installing (pass $pass): ${missing[*]}" >&2
  [ -n "$updated" ] || { $sudo apt-get update -qq; updated=1; }
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
done
missing_packages
if [ ${#missing[@]} -gt 0 ]; then
  echo "still missing after installing: ${missing[*]}; install them with: apt-get install -y ${missing[*]}" >&2
  exit 1
fi

command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs) first" >&2; exit 1; }
# rustfmt and clippy come with rustup's default profile; a minimal toolchain lacks them.
cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
# The test runner: nextest runs each test in its own process under the time limits of
# .config/nextest.toml, so a hanging test fails under its own name within minutes.
cargo nextest --version >/dev/null 2>&1 || cargo install --locked cargo-nextest

# Style and lints first: they take seconds and say what to fix before any test runs.
cargo fmt --all --check
cargo clippy --locked --workspace --all-targets -- -D warnings
cargo build --locked --workspace --all-targets
# nextest does not run doctests; cargo does (there are none today, so this is quick).
cargo test --locked --workspace --doc
# The language's differential test (tarn-core's engine binary, difftest) compares tarn with
# Terraform 1.0.3 itself: install the peer as bench/run.sh does (offline after the first run).
bench/terraform-peer.sh >/dev/null
cargo nextest run --locked --workspace --no-fail-fast
