# meveo's development servers, as one reviewed plan: a dev- server on Scaleway from an image,
# with a reserved (flexible) IP and a security group; a Cloudflare A record pointing at it; and
# the record's host name added to the zone's lockdown rule, so only the office reaches it.
#
#   tarn apply --sandbox      # against tarn's emulators: no account, no network
#   tarn plan --sandbox       # no changes
#   tarn destroy --sandbox
#
# See README.md for a walk through, and for running it against real accounts.

provider "scaleway" {
  zone = var.scaleway_zone
}

provider "cloudflare" {
  # Cloudflare's Pro plan allows 3 active lockdown rules per zone; say so if yours allows more.
  # lockdown_limit = 10
}

# --- Scaleway: the server, its address and its firewall ---------------------------------------

resource "scaleway_instance_security_group" "dev" {
  name                    = "dev-${var.name}"
  description             = "meveo dev servers: SSH from the office, HTTPS from anywhere"
  inbound_default_policy  = "drop"
  outbound_default_policy = "accept"
}

resource "scaleway_instance_security_group_rule" "ssh" {
  for_each          = toset(var.allowed_ips)
  security_group_id = scaleway_instance_security_group.dev.id
  direction         = "inbound"
  action            = "accept"
  protocol          = "TCP"
  ip_range          = "${each.value}/32"
  port_from         = 22
}

resource "scaleway_instance_security_group_rule" "https" {
  security_group_id = scaleway_instance_security_group.dev.id
  direction         = "inbound"
  action            = "accept"
  protocol          = "TCP"
  port_from         = 443
}

# A reserved IP: it outlives the server and can move to its replacement with the same address.
resource "scaleway_instance_ip" "dev" {}

resource "scaleway_instance_server" "dev" {
  name              = "dev-${var.name}"
  type              = var.server_type
  image             = var.image
  public_ip_ids     = [scaleway_instance_ip.dev.id]
  security_group_id = scaleway_instance_security_group.dev.id
  tags              = ["meveo", "dev"]

  delete_volumes_on_destroy = true
}

# --- Cloudflare: the record and the lockdown rule -----------------------------------------------

resource "cloudflare_dns_record" "scaleway_dev" {
  zone_id = var.zone_id
  name    = scaleway_instance_server.dev.name
  type    = "A"
  content = scaleway_instance_ip.dev.address
  ttl     = 300
  comment = "meveo dev server on Scaleway"
}

locals {
  # Every dev record the lockdown rule protects: a server on another provider adds its record
  # here (ovh.tarn.hcl: cloudflare_dns_record.ovh_dev).
  locked_records = [
    cloudflare_dns_record.scaleway_dev,
    cloudflare_dns_record.ovh,
  ]
}

resource "cloudflare_zone_lockdown" "dev" {
  zone_id = var.zone_id
  urls    = [for r in local.locked_records : "${r.hostname}/*"]
  configurations = concat(
    [for ip in var.allowed_ips : { target = "ip", value = ip }],
    [for range in var.allowed_ranges : { target = "ip_range", value = range }],
  )
  description = "meveo dev servers: office only"
}

output "server_address" {
  value = scaleway_instance_ip.dev.address
}

output "hostnames" {
  value = [for r in local.locked_records : r.hostname]
}
