# DNS records and an admin lockdown for a Cloudflare zone.
#
# Try it with no account and no network, against tarn's Cloudflare emulator (its zones
# example.com, example.net and example.org exist from the start):
#
#   tarn apply --sandbox              # creates the records in the emulator
#   tarn plan --sandbox               # no changes
#   tarn destroy --sandbox
#
# For real: export CLOUDFLARE_API_TOKEN (Zone:Read, DNS:Edit, Zone WAF:Edit), set `zone` to
# a zone of yours (tarn apply --var zone=your.domain). Zone lockdown needs a Pro plan or above.

variable "zone" {
  type        = string
  default     = "example.com"
  description = "The zone (domain) the records go in."
}

variable "web_ip" {
  type    = string
  default = "192.0.2.10"
}

provider "cloudflare" {}

data "cloudflare_zone" "main" {
  name = var.zone
}

resource "cloudflare_dns_record" "www" {
  zone_id = data.cloudflare_zone.main.id
  name    = "www"
  type    = "A"
  content = var.web_ip
  proxied = true
  comment = "managed by tarn"
}

resource "cloudflare_dns_record" "shop" {
  zone_id = data.cloudflare_zone.main.id
  name    = "shop"
  type    = "CNAME"
  content = "www.${var.zone}"
  ttl     = 300
}

resource "cloudflare_dns_record" "spf" {
  zone_id = data.cloudflare_zone.main.id
  name    = "@"
  type    = "TXT"
  content = "v=spf1 -all"
}

resource "cloudflare_zone_lockdown" "admin" {
  zone_id = data.cloudflare_zone.main.id
  urls    = ["shop.${var.zone}/admin*"]
  configurations = [
    { target = "ip", value = "198.51.100.4" },
    { target = "ip_range", value = "203.0.113.0/24" },
  ]
  description = "Admin pages from the office only"
}

output "www" {
  value = cloudflare_dns_record.www.hostname
}

output "name_servers" {
  value = data.cloudflare_zone.main.name_servers
}
