# Pond on DigitalOcean: two droplets, a load-balanced production environment on both of them
# and a single-server staging environment on the first, the domain's records, and the status.
# README.md walks through deploy, test the inactive colour, switch; docs/pond.md maps each step
# of Pond's flow to tarn. Runs as is under `--sandbox` (no account: droplets in the emulator,
# servers on this machine).

variable "region" {
  default = "ams3"
}
variable "ssh_keys" {
  description = "Ids or fingerprints of your DigitalOcean SSH keys, installed on the droplets."
  default     = []
}
variable "private_key_file" {
  description = "The private half of one of those keys."
  default     = "~/.ssh/id_ed25519"
}
variable "secret_prefix" {
  description = "Reaches the colours directly: <prefix>-blue.<domain>, <prefix>-green.<domain>."
  sensitive   = true
}
variable "db_password" {
  sensitive = true
}

# Production: which build is deployed, and which colour is live. Deploy by changing
# production_build; switch by changing production_live (the plan shows which build goes live).
variable "production_build" {
  default = "v1"
}
variable "production_live" {
  default = "blue"
}

locals {
  project = "shop"
  domain  = "shop.example.org"
}

# Droplets carry the project's name as a tag (`project`), as Pond's seed asks.
resource "digitalocean_droplet" "web1" {
  name     = "shop-web1"
  region   = var.region
  size     = "s-1vcpu-1gb"
  image    = "debian-12-x64"
  ssh_keys = var.ssh_keys
  project  = local.project
}

resource "digitalocean_droplet" "web2" {
  depends_on = [digitalocean_droplet.web1] # web1 gets the first address, web2 the second
  name       = "shop-web2"
  region     = var.region
  size       = "s-1vcpu-1gb"
  image      = "debian-12-x64"
  ssh_keys   = var.ssh_keys
  project    = local.project
}

# A new droplet's host key is unknown before it exists: trust it on first use, recorded in
# `host_key` and enforced afterwards (under --sandbox the sandbox pins its servers' keys).
resource "pond_server" "web1" {
  host               = digitalocean_droplet.web1.ipv4_address
  private_key_file   = pathexpand(var.private_key_file)
  trust_on_first_use = true
  environment_variables = {
    APP_ENV = "production"
  }
  post_provision_scripts = ["php -r 'exit(0);'"]
}

resource "pond_server" "web2" {
  host                   = digitalocean_droplet.web2.ipv4_address
  private_key_file       = pathexpand(var.private_key_file)
  trust_on_first_use     = true
  post_provision_scripts = ["php -r 'exit(0);'"]
}

locals {
  config_templates = { "config/app.php" = file("templates/app.php") }
}

resource "pond_environment" "production" {
  project          = local.project
  name             = "production"
  type             = "load_balanced"
  servers          = [pond_server.web1.connection, pond_server.web2.connection]
  domain           = local.domain
  secret_prefix    = var.secret_prefix
  config_templates = local.config_templates
  config_variables = { site_name = "Shop", db_password = var.db_password }
  post_deployment_scripts = ["test -f index.php"]

  build  = var.production_build
  source = "site-${var.production_build}"
  live   = var.production_live
}

resource "pond_environment" "staging" {
  project          = local.project
  name             = "staging"
  servers          = [pond_server.web1.connection]
  domain           = "staging.${local.domain}"
  secret_prefix    = var.secret_prefix
  config_templates = local.config_templates
  config_variables = { site_name = "Shop (staging)", db_password = var.db_password }

  build  = "v2"
  source = "site-v2"
}

# The domain and its records (the seed: "add the domain and create A and CNAME records"):
# production through the load balancer, staging on web1, and the colours of each.
resource "digitalocean_loadbalancer" "production" {
  name        = "shop-production"
  region      = var.region
  droplet_tag = local.project
  forwarding_rule = [{
    entry_protocol  = "http"
    entry_port      = 80
    target_protocol = "http"
    target_port     = 80
  }]
  depends_on = [digitalocean_droplet.web1, digitalocean_droplet.web2]
}

resource "digitalocean_domain" "shop" {
  name = local.domain
}

resource "digitalocean_record" "apex" {
  domain = digitalocean_domain.shop.id
  type   = "A"
  name   = "@"
  value  = digitalocean_loadbalancer.production.ip
}

resource "digitalocean_record" "www" {
  domain = digitalocean_domain.shop.id
  type   = "CNAME"
  name   = "www"
  value  = "@"
}

resource "digitalocean_record" "staging" {
  domain = digitalocean_domain.shop.id
  type   = "A"
  name   = "staging"
  value  = digitalocean_droplet.web1.ipv4_address
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

output "production_live_build" {
  value = pond_environment.production.live_build
}
