# Pond: a load-balanced production environment on two servers, and a single-server staging
# environment on the first of them. See README.md for the walk-through and docs/pond.md for how
# each step of Pond's flow maps to tarn.

variable "web1_host" {
  description = "SSH address of the first server (a droplet's ipv4_address)."
}
variable "web2_host" {
  description = "SSH address of the second server."
}
variable "web1_host_key" {
  description = "web1's host-key fingerprint, SHA256:... (ssh-keyscan web1 | ssh-keygen -lf -)."
}
variable "web2_host_key" {
  description = "web2's host-key fingerprint."
}
variable "private_key_file" {
  default = "~/.ssh/id_ed25519"
}
variable "secret_prefix" {
  description = "Reaches the colours directly: <prefix>-blue.<domain>, <prefix>-green.<domain>."
  sensitive   = true
}
variable "db_password" {
  sensitive = true
}

# Production: which build is deployed, and which colour is live. Deploy by changing
# production_build; switch by changing production_live and production_live_build.
variable "production_build" {
  default = "v1"
}
variable "production_live" {
  default = "blue"
}
variable "production_live_build" {
  default = null
}

resource "pond_server" "web1" {
  host                 = var.web1_host
  private_key_file     = pathexpand(var.private_key_file)
  host_key_fingerprint = var.web1_host_key
  database             = "mariadb-server"
  environment_variables = {
    APP_ENV = "production"
  }
  post_provision_scripts = ["a2enmod rewrite >/dev/null"]
}

resource "pond_server" "web2" {
  host                   = var.web2_host
  private_key_file       = pathexpand(var.private_key_file)
  host_key_fingerprint   = var.web2_host_key
  post_provision_scripts = ["a2enmod rewrite >/dev/null"]
}

locals {
  config_templates = { "config/app.php" = file("templates/app.php") }
}

resource "pond_environment" "production" {
  project          = "shop"
  name             = "production"
  type             = "load_balanced"
  servers          = [pond_server.web1.connection, pond_server.web2.connection]
  domain           = "shop.example.org"
  secret_prefix    = var.secret_prefix
  config_templates = local.config_templates
  config_variables = { site_name = "Shop", db_password = var.db_password }
  post_deployment_scripts = ["test -f index.php"]

  build      = var.production_build
  source     = "site-${var.production_build}"
  live       = var.production_live
  live_build = var.production_live_build
}

resource "pond_environment" "staging" {
  project          = "shop"
  name             = "staging"
  servers          = [pond_server.web1.connection]
  domain           = "staging.shop.example.org"
  secret_prefix    = var.secret_prefix
  config_templates = local.config_templates
  config_variables = { site_name = "Shop (staging)", db_password = var.db_password }

  build = "v2"
  source = "site-v2"
}

data "pond_environment_status" "production" {
  project   = pond_environment.production.project
  name      = pond_environment.production.name
  servers   = [pond_server.web1.connection, pond_server.web2.connection]
  log_lines = 5
}

output "production_status" {
  value = data.pond_environment_status.production.status
}

output "production_builds" {
  value = pond_environment.production.builds
}
