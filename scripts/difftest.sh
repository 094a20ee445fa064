#!/usr/bin/env bash
# Generated differential run (not part of scripts/test.sh): random well-typed expressions over
# the function table through tarn and Terraform 1.0.3 (installed offline by
# bench/terraform-peer.sh); prints the agreement rate and the first disagreements.
#
#   scripts/difftest.sh            # seed 21, 400 expressions (the figure in docs/language.md)
#   scripts/difftest.sh 7 1000     # another seed, more expressions
set -euo pipefail
cd "$(dirname "$0")/.."
bench/terraform-peer.sh >/dev/null
cargo run --quiet --locked -p tarn-core --example difftest -- "${1:-21}" "${2:-400}"
