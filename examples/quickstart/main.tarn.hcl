# The quickstart: no account, no network. It writes a few files under ./out with the `local`
# provider and records a `null_resource` per team, so you can see plan, apply, drift and
# rollback on your own machine.
#
#   tarn plan          # what would change
#   tarn apply         # make it so
#   echo edited > out/motd.txt && tarn plan   # drift: tarn notices and will put it back
#   tarn destroy       # remove everything it created

variable "environment" {
  type        = string
  default     = "dev"
  description = "Name of the environment, written into every file."

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be one of dev, staging or prod."
  }
}

variable "teams" {
  type = map(object({
    lead    = string
    members = optional(number, 1)
  }))
  default = {
    platform = { lead = "ada", members = 4 }
    web      = { lead = "linus" }
  }
}

locals {
  banner = upper("${var.environment} environment")
  total  = sum([for t in values(var.teams) : t.members])
}

resource "local_file" "motd" {
  filename        = "${path.module}/out/motd.txt"
  content         = <<-EOT
    ${local.banner}
    ${length(var.teams)} teams, ${local.total} people.
  EOT
  file_permission = "0644"
}

resource "local_file" "team" {
  for_each = var.teams

  filename = "${path.module}/out/teams/${each.key}.json"
  content = jsonencode({
    team    = each.key
    lead    = each.value.lead
    members = each.value.members
    motd_id = local_file.motd.id
  })
}

resource "null_resource" "onboarding" {
  count = length(var.teams)

  triggers = {
    team = keys(var.teams)[count.index]
    file = local_file.team[keys(var.teams)[count.index]].id
  }
}

module "greeting" {
  source = "./modules/greeting"

  name      = "world"
  directory = "${path.module}/out"
}

output "motd_checksum" {
  description = "SHA-256 of the message of the day."
  value       = local_file.motd.content_sha256
}

output "team_files" {
  value = { for k, f in local_file.team : k => f.filename }
}

output "greeting" {
  value = module.greeting.text
}
