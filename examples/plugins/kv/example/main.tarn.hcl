# An example configuration that uses the kv plugin (../tarn-provider-kv, Python 3), an
# external provider that tarn runs as a separate process and talks to over stdin/stdout.
#
#   tarn state keygen        # kv_entry.secret is sensitive: the state seals it with this key
#   tarn apply               # creates three entries in ./kv-store.json
#   tarn plan                # no changes
#   tarn destroy             # removes them
#
# The plugin is named by path, relative to this directory. Alternatively, put the executable
# in a directory listed in TARN_PLUGIN_PATH and leave out the source.

tarn {
  required_providers {
    kv = { source = "exec:../tarn-provider-kv" }
  }
}

provider "kv" {
  path = "${path.module}/kv-store.json"
}

variable "environment" {
  type    = string
  default = "dev"
}

variable "db_password" {
  type      = string
  default   = "change-me-please"
  sensitive = true
}

resource "kv_entry" "environment" {
  key   = "environment"
  value = var.environment
  tags  = { owner = "platform" }
}

resource "kv_entry" "database_url" {
  key    = "database_url"
  value  = "postgres://app@db.${var.environment}.internal/app"
  secret = var.db_password
  tags   = { owner = "platform", depends_on = kv_entry.environment.id }
}

resource "kv_entry" "release" {
  key   = "release"
  value = "v${kv_entry.database_url.version}"
}

data "kv_entry" "environment" {
  key = kv_entry.environment.key
}

output "environment_version" {
  value = data.kv_entry.environment.version
}
