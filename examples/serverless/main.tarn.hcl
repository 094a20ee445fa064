# A COGNIT serverless runtime on OpenNebula: a FaaS function (and a DaaS one) as the
# Provisioning Engine makes it, from the OneFlow service template its flavours name.
#
# Try it with no cloud, against tarn's OpenNebula emulator (oned XML-RPC and OneFlow; its
# service templates Function, Function-Data, FAILED_DEPLOY and DenyVMTemplate exist from the
# start, the sandbox user is cognit):
#
#   tarn apply --sandbox              # instantiates Function-Data, waits for RUNNING
#   tarn output --sandbox endpoint    # the FaaS VM's address
#   tarn apply --sandbox -var faas_cpu=2   # resized in place
#   tarn destroy --sandbox
#
# For real: set ONE_USERNAME and ONE_PASSWORD, and point the provider at your front-end
# (one_xmlrpc, oneflow_server), as engine.conf does.

variable "faas_cpu" {
  type    = number
  default = 1
}

provider "opennebula" {
  # engine.conf's :timeout: and :capacity: (these are its defaults).
  timeout = 60
  capacity = {
    cpu_default    = 2
    cpu_mult       = 2
    memory_default = 1024
    memory_mult    = 2
    disk_default   = 1024
  }
}

resource "opennebula_serverless_runtime" "device" {
  name = "nature-s3"

  faas {
    flavour = "Function"
    cpu     = var.faas_cpu
    memory  = 512
  }

  daas {
    flavour = "Data"
    cpu     = 1
    memory  = 512
  }

  scheduling {
    policy       = "energy"
    requirements = "FREECPU > 10"
  }

  device_info {
    latency_to_pe       = 100
    geographic_location = "Madrid"
  }
}

output "runtime_id" {
  value = opennebula_serverless_runtime.device.id
}

output "service_id" {
  value = opennebula_serverless_runtime.device.service_id
}

output "endpoint" {
  value = opennebula_serverless_runtime.device.endpoint
}
