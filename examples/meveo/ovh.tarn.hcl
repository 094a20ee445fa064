# The meveo workflow's OVH half: a `dev-` server on OVH Public Cloud (OpenStack), reachable with
# an SSH key pair, and a Cloudflare A record `ovh` pointing at its public address.
#
# Under `tarn apply --sandbox` this runs against tarn's Keystone + Nova emulator: the defaults
# below are ids that emulator knows (Ubuntu 22.04, Ext-Net). For real, source the project's
# openrc file (OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_ID, OS_REGION_NAME; OVH's auth
# URL and `Default` domain are the defaults anyway) and set the ids of your region:
#   openstack image list   --name "Ubuntu 22.04"   -> ovh_image_id
#   openstack network list --name Ext-Net          -> ovh_network_id
# The token is taken once and renewed automatically before it expires: no weekly refresh.
# `var.zone_id` (the Cloudflare zone) is declared beside this file.

variable "ovh_image_id" {
  type        = string
  default     = "a1b2c3d4-0000-4000-8000-0000000022a4"
  description = "The Glance image of the OVH server (Ubuntu 22.04 in the sandbox)."
}

variable "ovh_network_id" {
  type        = string
  default     = "b7f2a1c0-1111-4111-8111-00000000e7e7"
  description = "The public network (OVH: Ext-Net) the server is attached to."
}

variable "ovh_flavor" {
  type        = string
  default     = "d2-2"
  description = "The OVH flavor: d2-2 for a short-lived development server, b3-8 for more."
}

variable "ovh_ssh_public_key" {
  type        = string
  default     = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFHV5F7kkv6LCu11nEMA6huAwn17H38I70h9boLzOx2X dev@meveo"
  description = "The public key the server accepts (the seed's OVH SSH key)."
}

provider "openstack" {
  region = "GRA11"
}

resource "openstack_compute_keypair" "meveo" {
  name       = "meveo-dev"
  public_key = var.ovh_ssh_public_key
}

resource "openstack_compute_instance" "dev" {
  name        = "dev-meveo-ovh"
  flavor_name = var.ovh_flavor
  image_id    = var.ovh_image_id
  key_pair    = openstack_compute_keypair.meveo.name
  network_ids = [var.ovh_network_id]
  metadata = {
    workflow = "meveo"
  }
}

resource "cloudflare_dns_record" "ovh" {
  zone_id = var.zone_id
  name    = "ovh"
  type    = "A"
  content = openstack_compute_instance.dev.access_ip_v4
  ttl     = 300
  comment = "OVH dev server, managed by tarn"
}

output "ovh_address" {
  value = openstack_compute_instance.dev.access_ip_v4
}
