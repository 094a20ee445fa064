#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine with Rust (run as root, or with sudo).
# Installs the system packages the tests need where they are missing, then runs every test
# of every crate. CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the test harness drives for real: openssh-server for the SSH toolkit's tests
# (a real sshd on 127.0.0.1), postgresql for the PostgreSQL state backend's tests (initdb and
# postgres started on 127.0.0.1, as the `postgres` user when run as root). The container
# provider adds its own here.
packages=(ca-certificates openssh-server postgresql)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs) first" >&2; exit 1; }
cargo build --locked --workspace --all-targets
cargo test --locked --workspace --no-fail-fast
