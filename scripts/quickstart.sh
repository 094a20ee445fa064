#!/usr/bin/env bash
# The main job on the quickstart: build tarn, plan and apply examples/quickstart (local files
# and null resources: no account, no network), then show that a second plan has nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs) first" >&2; exit 1; }
cargo build --locked --release --bin tarn
tarn=target/release/tarn
[ -n "${CARGO_TARGET_DIR:-}" ] && tarn="$CARGO_TARGET_DIR/release/tarn"
echo "== tarn plan"
"$tarn" -C examples/quickstart plan
echo "== tarn apply"
"$tarn" -C examples/quickstart apply --auto-approve
echo "== tarn output"
"$tarn" -C examples/quickstart output
echo "== tarn plan (again: nothing to do)"
"$tarn" -C examples/quickstart plan --detailed-exitcode
