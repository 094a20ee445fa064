# The inputs of the meveo example. Every default works under --sandbox; for real accounts, set
# at least zone_id (tarn apply --var zone_id=...), and export the providers' credentials
# (CLOUDFLARE_API_TOKEN; SCW_SECRET_KEY and SCW_DEFAULT_PROJECT_ID).

variable "zone_id" {
  type        = string
  # The id of example.com in tarn's Cloudflare emulator (the sandbox's seed zone).
  default     = "4345ca76619668c93cc1671e6a97530a"
  description = "The Cloudflare zone the dev servers' records go in (Cloudflare dashboard > the domain > Overview > Zone ID)."

  validation {
    condition     = can(regex("^[0-9a-f]{32}$", var.zone_id))
    error_message = "zone_id is a Cloudflare zone identifier: 32 hexadecimal digits."
  }
}

variable "name" {
  type        = string
  default     = "meveo"
  description = "The dev server's name after the dev- prefix; also its DNS record's name."
}

variable "scaleway_zone" {
  type    = string
  default = "fr-par-1"
}

variable "server_type" {
  type        = string
  default     = "DEV1-S"
  description = "A Scaleway commercial type; its local volume limits are checked at plan time."
}

variable "image" {
  type        = string
  default     = "ubuntu_jammy"
  description = "An image id, or a label resolved in the zone (meveo creates servers from an image)."
}

variable "allowed_ips" {
  type        = list(string)
  default     = ["198.51.100.4"]
  description = "Single addresses allowed through the lockdown rule and the SSH rule (the office)."
}

variable "allowed_ranges" {
  type        = list(string)
  default     = ["203.0.113.0/24"]
  description = "Networks allowed through the lockdown rule (IPv4 /16 or /24; IPv6 /32, /48 or /64)."
}
