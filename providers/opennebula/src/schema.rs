//! The opennebula provider's schema: its configuration (engine.conf's keys) and
//! `opennebula_serverless_runtime`, whose arguments follow the Provisioning Engine's
//! `SERVERLESS_RUNTIME` document (NAME, FAAS, DAAS, SCHEDULING, DEVICE_INFO) in tarn's
//! lower-case spelling, written as blocks (`faas { flavour = "Function" }`).

use indexmap::IndexMap;
use tarn_sdk::{AttributeSchema, ProviderSchema, ResourceSchema, Type};

pub const RUNTIME: &str = "opennebula_serverless_runtime";

fn function_type() -> Type {
    Type::object_with_optional(
        &[("flavour", Type::String), ("cpu", Type::Number), ("memory", Type::Number), ("disk_size", Type::Number)],
        &["cpu", "memory", "disk_size"],
    )
}

/// What tarn reads back for one function's VM.
pub fn function_state_type() -> Type {
    Type::object(&[
        ("vm_id", Type::String),
        ("state", Type::String),
        ("vm_state", Type::String),
        ("endpoint", Type::String),
        ("cpu", Type::Number),
        ("memory", Type::Number),
        ("disk_size", Type::Number),
    ])
}

pub fn provider_schema() -> ProviderSchema {
    let mut config = IndexMap::new();
    config.insert(
        "one_xmlrpc".to_string(),
        AttributeSchema::optional(Type::String, "oned's XML-RPC endpoint (engine.conf :one_xmlrpc:). Default: ONE_XMLRPC, else http://localhost:2633/RPC2. `--sandbox` points it at tarn's emulator."),
    );
    config.insert(
        "oneflow_server".to_string(),
        AttributeSchema::optional(
            Type::String,
            "The OneFlow server (engine.conf :oneflow_server:). Default: ONEFLOW_URL, else http://localhost:2474.",
        ),
    );
    config.insert(
        "username".to_string(),
        AttributeSchema::optional(Type::String, "The OpenNebula user. Default: ONE_USERNAME."),
    );
    config.insert(
        "password".to_string(),
        AttributeSchema::optional(Type::String, "The user's password. Default: ONE_PASSWORD. Sent as oned's session and OneFlow's Basic authentication, and (as the original engine does) to the function VMs as SR_AUTH; never logged.")
            .sensitive(),
    );
    config.insert(
        "timeout".to_string(),
        AttributeSchema::optional(Type::Number, "Seconds to wait for a service to deploy, a VM to settle after a resize, or a service to be undeployed (engine.conf :timeout:, default 30)."),
    );
    config.insert(
        "capacity".to_string(),
        AttributeSchema::optional(
            Type::object_with_optional(
                &[
                    ("disk_default", Type::Number),
                    ("cpu_default", Type::Number),
                    ("cpu_mult", Type::Number),
                    ("memory_default", Type::Number),
                    ("memory_mult", Type::Number),
                    ("memory_resize_mode", Type::String),
                ],
                &["disk_default", "cpu_default", "cpu_mult", "memory_default", "memory_mult", "memory_resize_mode"],
            ),
            "engine.conf's :capacity:: sizes a function gets when its block leaves them out (disk 1024 MB, 2 CPUs, 1024 MB), and the multipliers that bound in-place growth (VCPU_MAX = cpu × cpu_mult, MEMORY_MAX = memory × memory_mult; both 2), and memory_resize_mode (BALLOONING or HOTPLUG).",
        ),
    );
    config.insert(
        "flavours".to_string(),
        AttributeSchema::optional(
            Type::map(Type::String),
            "engine.conf's :mapping:: flavour tuple (`nature`, or `nature-s3` with a DaaS flavour) to OneFlow service template id or name. Without it, the template named like the tuple is used, as the original engine does (`Function`, `Function-Data`).",
        ),
    );
    let mut resources = IndexMap::new();
    resources.insert(RUNTIME.to_string(), runtime());
    ProviderSchema { config, resources, data_sources: IndexMap::new() }
}

fn runtime() -> ResourceSchema {
    let mut s = ResourceSchema::new(
        "A serverless runtime as COGNIT's Provisioning Engine makes it: a OneFlow service instantiated from the service template its flavours name, with a FAAS role (and a DAAS role when `daas` is given) whose VMs get the sizes, the scheduling requirements and policy, the device information and the caller's SR_AUTH context; recorded, like the original, as a SERVERLESS_RUNTIME document (type 1337). Create waits until the service is RUNNING and its VMs ACTIVE/RUNNING; a service that ends in FAILED_DEPLOYING, or the time-out, fails the create (rollback removes it). An unknown flavour fails the plan, for a new runtime and an existing one. A new flavour replaces the runtime (a new service and document, then the old one undeployed; the new one first with `create_before_destroy`). CPU, memory and disk are resized in place within the VM's limits (VCPU_MAX, MEMORY_MAX: the size at creation × the capacity multipliers; disks only grow), and a size beyond them fails the plan. Delete undeploys the service and waits until it is gone. A service found not RUNNING is repaired by the next apply: replaced when a function's VM is gone, else recovered (OneFlow's recover) and waited for.",
    )
    .refines_plan()
    .note_on_change(&["faas", "daas"], "a new size resizes the VMs in place (a new flavour is a replacement)")
    .note_on_change(&["scheduling", "device_info"], "updates the VMs' user template and flags them for rescheduling");
    s.destroy_is_irreversible = true;
    s = s.attr("name", AttributeSchema::required(Type::String, "The runtime's name (the SERVERLESS_RUNTIME document's NAME); a change renames the document."))
        .attr("faas", AttributeSchema::required(function_type(), "The function runtime: `flavour` (names the service template, with the DaaS flavour when there is one), `cpu` (cores; CPU = VCPU), `memory` (MB), `disk_size` (MB, disk 0). Sizes left out come from the VM template, else from the provider's capacity defaults."))
        .attr("daas", AttributeSchema::optional(function_type(), "The optional data runtime, as `faas`; its flavour is the second half of the template tuple (`Function-Data`)."))
        .attr(
            "scheduling",
            AttributeSchema::optional(
                Type::object_with_optional(&[("policy", Type::String), ("requirements", Type::String)], &["policy", "requirements"]),
                "Placement: `requirements` becomes SCHED_REQUIREMENTS, `policy` SCHED_RANK (both upper-cased, as the original engine writes them).",
            ),
        )
        .attr(
            "device_info",
            AttributeSchema::optional(
                Type::object_with_optional(
                    &[("latency_to_pe", Type::Number), ("geographic_location", Type::String)],
                    &["latency_to_pe", "geographic_location"],
                ),
                "The client device's environment, given to the VMs as DEVICE_INFO=[LATENCY_TO_PE, GEOGRAPHIC_LOCATION].",
            ),
        )
        .attr("id", AttributeSchema::computed(Type::String, "The SERVERLESS_RUNTIME document's id (the Provisioning Engine's runtime ID)."))
        .attr("service_id", AttributeSchema::computed(Type::String, "The OneFlow service's id (SERVICE_ID)."))
        .attr("service_template_id", AttributeSchema::computed(Type::String, "The service template the flavours chose (FLAVOURS in the VMs' user template)."))
        .attr("service_state", AttributeSchema::computed(Type::String, "The service's state as last read. Kept at RUNNING: another state found by a refresh is drift the next apply repairs (a replacement when a function's VM is gone, else OneFlow's recover).").kept_at("RUNNING"))
        .attr("endpoint", AttributeSchema::computed(Type::String, "The FaaS VM's address (NIC 0: EXTERNAL_IP, IP6 or IP); empty without a network."))
        .attr("functions", AttributeSchema::computed(Type::map(function_state_type()), "Per function (`faas`, `daas`): its VM's id, function state (PENDING, RUNNING, UPDATING, ERROR, or GONE), VM state, endpoint and actual sizes."));
    s
}
