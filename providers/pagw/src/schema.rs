//! The pagw provider's schema: the provider block, `pagw_instance`, `pagw_slot_range` and the
//! `pagw_slots` data source. Docs are generated from these descriptions.

use tarn_sdk::{AttributeSchema as A, ProviderSchema, ResourceSchema, Type};

pub const INSTANCE: &str = "pagw_instance";
pub const SLOT_RANGE: &str = "pagw_slot_range";
pub const SLOTS: &str = "pagw_slots";

/// What the plan shows under every change that removes a gateway (Giif's operators had to
/// remember it): the project's group is deleted with everything under it. `{project}` is
/// filled with the gateway's project (`ResourceSchema::destroy_notes_for`).
pub const DESTROY_NOTE: &str = "move the resources of project \"{project}\" (its \"Resources\" connection group) to the \
     default project before its gateway is removed: the destroy deletes the project's connection group with \
     everything under it (it refuses while Resources still holds connections or groups)";

/// [`DESTROY_NOTE`] as the plan shows it for the gateway of `project`.
pub fn destroy_note(project: &str) -> String {
    DESTROY_NOTE.replace("{project}", project)
}

pub fn provider_schema() -> ProviderSchema {
    let mut s = ProviderSchema::default();
    s.config.insert(
        "database_url".into(),
        A::required(
            Type::String,
            "Giif's slot database: mysql://USER:PASSWORD@HOST:PORT/DATABASE (TLS with ?require_ssl=true, over rustls).",
        )
        .sensitive(),
    );
    s.config.insert(
        "roof_group".into(),
        A::optional(Type::String, "The roof connection group whose children are the projects (Giif's PROJECT_CONNECTION_GROUP; default \"Projects\")."),
    );
    s.config.insert(
        "create_schema".into(),
        A::optional(
            Type::Bool,
            "Create the Giif tables and the roof group when missing (fresh installs; default false).",
        ),
    );
    s.config.insert(
        "known_hosts_file".into(),
        A::optional(
            Type::String,
            "A known_hosts file for the PAGW hosts; without one, a host's key is trusted on first use.",
        ),
    );
    s.config.insert(
        "host_env".into(),
        A::optional(Type::map(Type::String), "Environment for every command run on a PAGW host (e.g. DOCKER_HOST)."),
    );
    s.config.insert(
        "docker".into(),
        A::optional(Type::String, "The Docker client on the PAGW hosts (default \"docker\")."),
    );
    s.config.insert(
        "proxmox_api_token".into(),
        A::optional(
            Type::String,
            "The Proxmox VE API token of the proxmox-ve-api driver, USER@REALM!TOKENID=SECRET, sent as \
             Authorization: PVEAPIToken=… over HTTPS only; a slot's own PAGW_PVE_API_TOKEN wins. Unset: the \
             PAGW_PVE_API_TOKEN environment variable.",
        )
        .sensitive(),
    );
    s.config.insert(
        "proxmox_ca_file".into(),
        A::optional(
            Type::String,
            "A PEM file with the CA, or the self-signed certificate, of the Proxmox API hosts (on a Proxmox \
             cluster: /etc/pve/pve-root-ca.pem): then the only trust anchors (without it, the system's). \
             Certificates are always verified, the name or address of the API URL included.",
        ),
    );
    s.config.insert(
        "proxmox_tls_fingerprint".into(),
        A::optional(
            Type::String,
            "The SHA-256 fingerprint of the Proxmox API hosts' certificate (AB:CD:…, as `openssl x509 -noout \
             -fingerprint -sha256 -in /etc/pve/local/pve-ssl.pem` prints it on the host): that certificate alone is \
             trusted, whoever issued it and whatever name it carries; a slot's PAGW_PVE_TLS_FINGERPRINT wins. \
             Exclusive with proxmox_ca_file. Unset (and no proxmox_ca_file): the PAGW_PVE_TLS_FINGERPRINT \
             environment variable.",
        ),
    );
    s.resources.insert(INSTANCE.into(), instance());
    s.resources.insert(SLOT_RANGE.into(), slot_range());
    s.data_sources.insert(SLOTS.into(), slots());
    s
}

fn instance() -> ResourceSchema {
    let mut r = ResourceSchema::new(
        "A project's PAGW gateway: the slot claimed in one transaction (pagw_instances row, the project's connection \
         group under the roof, the toolbox). Destroying it deletes the project's connection group with everything \
         under it, Resources included: move the project's resources to the default project first.",
    )
    .attr("project", A::required(Type::String, "The project's name: a single DNS label; the VM is PAGW-<project>.").force_new())
    .attr(
        "password",
        A::optional(Type::String, "The pagw user's password in the image. Empty or unset: the account is locked (a random password). Never stored in the database.")
            .sensitive()
            .force_new(),
    )
    .attr("default", A::optional(Type::Bool, "The default project: uses and keeps pagw_default_slot, and its destroy clears it.").force_new())
    .attr(
        "build_context",
        A::optional(Type::String, "A directory on this machine with the builder (Giif's build/): uploaded to PAGW_HOST_HOME, built and run with Docker to make <project>.img. Unset: only the slot's records are made.")
            .force_new(),
    )
    .attr("build_network", A::optional(Type::String, "docker build/run --network for the builder, when the host's Docker needs one.").force_new())
    .attr("image_format", A::optional(Type::String, "The format qemu-img info must report for the built image (default qcow2).").force_new())
    .attr(
        "agent_timeout",
        A::optional(Type::Number, "Seconds the deployed VM has to run with an answering QEMU guest agent (default 120); past it the create fails and is rolled back.")
            .force_new(),
    )
    .attr(
        "ssh_check",
        A::optional(Type::Bool, "After the guest agent, also wait until the gateway's address answers on port 22, within agent_timeout (default false).")
            .force_new(),
    )
    .attr(
        "backup",
        A::optional(
            Type::object_with_optional(
                &[("job", Type::String), ("schedule", Type::String), ("storage", Type::String), ("keep", Type::Number)],
                &["job", "schedule", "storage", "keep"],
            ),
            "Scheduled backups of the gateway's VM, removed on destroy (the backups are kept). Proxmox hosts: a backup job \
             (/cluster/backup) to put the VM in: job is its id (default: the VM's name), made with schedule (a calendar \
             event; default \"sun 01:00\") and storage (default \"local\") when missing; the VM is taken out of it on destroy, and an emptied \
             job is removed. libvirt-ssh hosts: a cron entry in PAGW_HOST_CRON_DIR (default /etc/cron.d) runs virsh backup-begin; \
             schedule is five cron fields and storage a directory on the host (both required); job is not used; keep = N \
             keeps the N newest backups, each run removing older ones (default: all kept; refused on Proxmox hosts, \
             whose storages prune backups).",
        )
        .force_new(),
    )
    .attr("slot_id", A::computed(Type::Number, "The claimed pagw_slots id."))
    .attr("address", A::computed(Type::String, "The gateway's public address (the slot's ip, PAGW_ADDRESS)."))
    .attr("connection_group_id", A::computed(Type::Number, "The project's Guacamole connection group."))
    .attr("vm_name", A::computed(Type::String, "The VM's name on the PAGW host: PAGW-<project>."))
    .attr("vm_id", A::computed(Type::Number, "The VM's id on the PAGW host (Proxmox VMID), when built; 0 on libvirt-ssh hosts, whose domains are known by name only."))
    .attr("vm_status", A::computed(Type::String, "The VM's state: running, stopped, missing (deleted outside tarn), or none (not built)."))
    .attr("deploy_driver", A::computed(Type::String, "The slot's PAGW_DEPLOY_DRIVER."))
    .attr("account", A::computed(Type::String, "\"password\", or \"locked\" when the password is empty."))
    .attr("toolbox", A::computed(Type::String, "\"complete\", or what is missing from the project's toolbox (drift)."))
    .refines_plan()
    .note_on_destroy(DESTROY_NOTE);
    r.destroy_is_irreversible = true;
    r
}

fn slot_range() -> ResourceSchema {
    ResourceSchema::new(
        "Slots loaded from a definition like Giif's database/pagw-slots.example: one pagw_slots row per address of \
         PAGW_ADDRESS_RANGE_IN_PRIPS_FORMAT with every other PAGW_* variable, PAGW_MGMT_VLAN counted up per address. \
         PAGW_PASSWORD is never stored. Destroy removes the slots, refusing while a project holds one.",
    )
    .attr(
        "definition",
        A::required(Type::String, "The definition's text, e.g. file(\"pagw-slots\"). It holds the private key.")
            .sensitive()
            .force_new(),
    )
    .attr(
        "ignored",
        A::optional(Type::Bool, "Load the slots with ignored = 1 (kept out of automatic claims).").force_new(),
    )
    .attr("slot_ids", A::computed(Type::list(Type::Number), "The ids of the inserted slots, in address order."))
    .attr("addresses", A::computed(Type::list(Type::String), "The addresses of the slots, in order."))
}

fn slots() -> ResourceSchema {
    ResourceSchema::new("Every PAGW slot with its state: free, claimed, ignored or default.").attr(
        "slots",
        A::computed(
            Type::list(Type::object(&[
                ("id", Type::Number),
                ("address", Type::String),
                ("state", Type::String),
                ("project", Type::String),
                ("host", Type::String),
                ("deploy_driver", Type::String),
                ("mgmt_vlan", Type::String),
            ])),
            "The slots in id order; project is empty when none holds the slot.",
        ),
    )
}
