#!/usr/bin/env bash
# Writes one module-heavy desired state twice, for Terraform and for tarn (see gen-null.sh):
#   gen-modules.sh N DIR [FORM]
#     DIR/tf/main.tf + DIR/tf/m/main.tf                   (Terraform, hashicorp/null 2.1.2)
#     DIR/tarn/main.tarn.hcl + DIR/tarn/m/main.tarn.hcl   (tarn, built-in null provider)
# The shape configurations are written in: one module instantiated with for_each over a map of
# N/8 entries (written out: range() stops at 1,024); inside it, `count = 3` resources "a", "b" (b[i] refers to a[i].id), and one "c"
# reading the whole resource a (a `for` over its instances); the module outputs c's id and the
# whole resource b. At the root, one resource per module instance reading the whole instance
# (`for_each = module.m`, each.value.c_id), and one summary reading every instance through a
# `for` expression. 8 resources per module instance, about N in all.
# FORM `for`: the same, but the root reads the module instances through a `for` expression
# that keeps their keys, `for_each = { for k, m in module.m : k => m if k != "" }` (issue 15:
# each instance must still depend on its own module instance only).
set -euo pipefail
n="$1"; dir="$2"; form="${3:-whole}"
case "$form" in
  whole) r_for_each='module.m' ;;
  for) r_for_each='{ for k, m in module.m : k => m if k != "" }' ;;
  *) echo "gen-modules.sh: FORM is whole or for, not $form" >&2; exit 2 ;;
esac
k=$((n / 8))
mkdir -p "$dir/tf/m" "$dir/tarn/m"
module() {
  cat <<'HCL'
variable "name" {}
variable "size" {}

resource "null_resource" "a" {
  count    = 3
  triggers = { v = "${var.name}-a${count.index}", size = var.size }
}

resource "null_resource" "b" {
  count    = 3
  triggers = { parent = null_resource.a[count.index].id }
}

resource "null_resource" "c" {
  triggers = { all = join(",", [for a in null_resource.a : a.id]) }
}

output "c_id" {
  value = null_resource.c.id
}

output "b" {
  value = null_resource.b
}
HCL
}
root() {
  cat <<HCL
locals {
  names = {
$(for ((i = 0; i < k; i++)); do printf '    i%d = %d\n' "$i" "$i"; done)
  }
}

module "m" {
  source   = "./m"
  for_each = local.names
  name     = each.key
  size     = each.value
}

resource "null_resource" "r" {
  for_each = $r_for_each
  triggers = { c = each.value.c_id, b0 = each.value.b[0].id }
}

resource "null_resource" "summary" {
  triggers = { n = length([for k, m in module.m : m.c_id if m.b[2].id != ""]) }
}
HCL
}
{
  printf 'terraform {\n  required_providers {\n    null = { source = "hashicorp/null", version = "2.1.2" }\n  }\n}\n\n'
  root
} > "$dir/tf/main.tf"
module > "$dir/tf/m/main.tf"
root > "$dir/tarn/main.tarn.hcl"
module > "$dir/tarn/m/main.tarn.hcl"
