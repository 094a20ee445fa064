# PAGW: slots loaded from a Giif slot definition, the default project's gateway and one
# project's gateway, each built on its PAGW host over SSH with Docker. See README.md for the
# walk-through and docs/pagw.md for how each step of Giif's scripts maps to tarn.

variable "database_url" {
  description = "Giif's MariaDB: mysql://USER:PASSWORD@HOST:PORT/guacamole_db"
  sensitive   = true
}
variable "docker_host" {
  description = "DOCKER_HOST on the PAGW host (empty: the host's default engine)."
  default     = ""
}
variable "default_password" {
  description = "The default project's pagw password (Giif's DEFAULT_PAGW_PASSWORD)."
  sensitive   = true
}
variable "acme_password" {
  description = "The acme project's pagw password; empty locks the account."
  sensitive   = true
  default     = ""
}

provider "pagw" {
  database_url = var.database_url
  roof_group   = "Projects"
  host_env     = var.docker_host == "" ? {} : { DOCKER_HOST = var.docker_host }
}

# The slots: one per address of PAGW_ADDRESS_RANGE_IN_PRIPS_FORMAT, PAGW_MGMT_VLAN counted up.
resource "pagw_slot_range" "host1" {
  definition = file("${path.module}/pagw-slots")
}

data "pagw_slots" "all" {
  depends_on = [pagw_slot_range.host1]
}

resource "pagw_instance" "default" {
  project       = "Default"
  default       = true
  password      = var.default_password
  build_context = "${path.module}/build"
  depends_on    = [pagw_slot_range.host1]
}

resource "pagw_instance" "acme" {
  project       = "acme"
  password      = var.acme_password
  build_context = "${path.module}/build"
  depends_on    = [pagw_slot_range.host1]
}

output "acme_address" {
  value = pagw_instance.acme.address
}
output "acme_account" {
  value = pagw_instance.acme.account
}
output "slots" {
  value = [for s in data.pagw_slots.all.slots : "${s.address} ${s.state} ${s.project}"]
}
