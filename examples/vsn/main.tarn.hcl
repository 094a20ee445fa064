# A complete VSN deployment (docs/vsn.md): the seed's deployment plan (plan.json) and
# secret file (secrets.json, copied from secrets.example.json and kept out of version control)
# applied to one virtual server node over SSH.
#
#   ./build-images.sh                      # the images, built offline (images/*.tar)
#   cp secrets.example.json secrets.json   # then put the real values in
#   tarn state keygen                      # secrets are sealed in the state
#   tarn plan                              # validates the VSN and the plan first; changes nothing
#   tarn apply --on-failure rollback       # a failed deployment brings the previous one back
#
# `tarn --sandbox ...` runs it all on a VSN on this machine (an sshd in front of the local
# podman), with no server and no registry: see README.md.
#
# Data directories (<data_root>/<volume name>) survive every apply, replacement and destroy.

variable "vsn_host" {
  type        = string
  description = "SSH address of the virtual server node."
  default     = "vsn1.example.org"
}

variable "ssh_key_file" {
  type        = string
  description = "Path of the SSH private key that logs in to the VSN."
  default     = "id_ed25519"
}

variable "vsn_host_key" {
  type        = string
  description = "The VSN's SSH host key fingerprint (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub)."
  default     = "SHA256:replace-with-the-real-fingerprint"
}

provider "vsn" {
  host                 = var.vsn_host
  user                 = "root"
  private_key_file     = var.ssh_key_file
  host_key_fingerprint = var.vsn_host_key
  engine               = "podman"
  data_root            = "/srv/vsn/data"
  volume_size_limit_gb = 200
}

# The plan and its secrets, validated (JSON Schema + special checks) before anything runs.
data "vsn_deployment_plan" "p" {
  file         = "plan.json"
  secrets_file = "secrets.json"
}

locals {
  plan = data.vsn_deployment_plan.p
}

# The host container: constant name, special image. REST containers join its network, so a new
# host image replaces them too.
resource "vsn_host" "host" {
  name    = local.plan.host.name
  image   = local.plan.host.image
  # A `podman save` archive on this machine, loaded on the VSN when the image is not there.
  image_archive = local.plan.host.image_archive
  command = local.plan.host.command
  env     = local.plan.host.env
  ports   = local.plan.host.ports
  pull    = local.plan.host.pull
}

# Volume containers: busybox, each with its data directory mounted. The directory is created
# when missing and never altered or deleted.
resource "vsn_volume" "v" {
  for_each      = local.plan.volumes
  name          = each.value.name
  host_id       = vsn_host.host.id
  image         = each.value.image
  image_archive = each.value.image_archive
  mount_path    = each.value.mount_path
  size_limit_gb = each.value.size_limit_gb
  pull          = each.value.pull
}

# Service containers: stateless, mounting the volume containers' data.
resource "vsn_service" "s" {
  for_each     = local.plan.services
  name         = each.value.name
  host_id      = vsn_host.host.id
  image        = each.value.image
  image_archive = each.value.image_archive
  command      = each.value.command
  env          = each.value.env
  secrets      = local.plan.service_secrets[each.key]
  volumes_from = [for v in each.value.volumes : vsn_volume.v[v].name]
  ports        = each.value.ports
  restart      = each.value.restart
  healthcheck  = each.value.healthcheck
  pull         = each.value.pull

  # Keep the running container until its replacement runs, so that
  # `tarn apply --on-failure rollback` brings it back when a new image fails.
  lifecycle {
    create_before_destroy = true
  }
}

variable "health_mail_to" {
  type        = string
  description = "Where health-check alerts go; null installs no health-check cron entry (it writes /etc/cron.d on the VSN, so the sandbox walk-through leaves it off)."
  default     = null
}

# Health checks by cron, with an alert mail on failure.
resource "vsn_healthcheck_cron" "health" {
  count      = var.health_mail_to == null ? 0 : 1
  name       = "deployment"
  containers = concat([vsn_host.host.name], [for s in vsn_service.s : s.name])
  schedule   = "*/5 * * * *"
  mail_to    = var.health_mail_to
  mailer     = "mutt"
}

# After a successful apply, the images of the deployment before the previous one go (the
# previous deployment's stay, so a rollback can bring it back). The plan shows which.
resource "vsn_image_cleanup" "images" {
  name       = "deployment"
  images     = concat([vsn_host.host.image], [for v in vsn_volume.v : v.image], [for s in vsn_service.s : s.image])
  depends_on = [vsn_host.host, vsn_volume.v, vsn_service.s]
}

output "host_id" {
  value = vsn_host.host.id
}

output "data_dirs" {
  value = { for k, v in vsn_volume.v : k => v.data_dir }
}
