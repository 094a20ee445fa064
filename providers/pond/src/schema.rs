//! The pond provider's schema: `pond_server`, `pond_environment` and the
//! `pond_environment_status` data source. Every resource names the servers it reaches; the
//! provider block's one argument, `host_overrides`, may say an address is reached elsewhere.
//!
//! Replacement rules (`force_new`): a server's address, user and Pond root, and an
//! environment's project and name (its directory) replace the object; everything else changes
//! in place: packages, templates and scripts are re-applied, a new `build` is a deployment to the
//! inactive colour, a new `live` is the switch.

use indexmap::IndexMap;
use tarn_sdk::{AttributeSchema as A, ProviderSchema, ResourceSchema, Type};

pub const SERVER: &str = "pond_server";
pub const ENVIRONMENT: &str = "pond_environment";
pub const STATUS: &str = "pond_environment_status";

fn string_map() -> Type {
    Type::map(Type::String)
}

/// The fields that reach a server, as an object (an environment's `servers` entries and
/// `pond_server.connection`).
pub fn connection_type() -> Type {
    let mut attributes = IndexMap::new();
    for (name, t) in [
        ("host", Type::String),
        ("port", Type::Number),
        ("user", Type::String),
        ("private_key_file", Type::String),
        ("host_key_fingerprint", Type::String),
        ("known_hosts_file", Type::String),
        ("root", Type::String),
    ] {
        attributes.insert(name.to_string(), t);
    }
    let optional = attributes.keys().filter(|k| *k != "host").cloned().collect();
    Type::Object { attributes, optional }
}

fn database_import() -> Type {
    let mut attributes = IndexMap::new();
    attributes.insert("file".to_string(), Type::String);
    attributes.insert("command".to_string(), Type::String);
    Type::Object { attributes, optional: Vec::new() }
}

fn status_type() -> Type {
    let mut attributes = IndexMap::new();
    for (name, t) in [
        ("server", Type::String),
        ("running", Type::Bool),
        ("error", Type::String),
        ("live", Type::String),
        ("blue_build", Type::String),
        ("green_build", Type::String),
        ("last_deployment", Type::String),
        ("log_tail", Type::list(Type::String)),
    ] {
        attributes.insert(name.to_string(), t);
    }
    Type::Object { attributes, optional: Vec::new() }
}

fn connection_attrs(r: ResourceSchema) -> ResourceSchema {
    r.attr("host", A::required(Type::String, "The server's SSH address: a droplet's `ipv4_address`.").force_new())
        .attr("port", A::optional(Type::Number, "SSH port; null means 22.").force_new())
        .attr("user", A::optional(Type::String, "SSH user; null means root. Privileged steps run through `sudo -n` when it is not root.").force_new())
        .attr("private_key_file", A::optional(Type::String, "Path on this machine of the SSH private key."))
        .attr("private_key", A::optional(Type::String, "The SSH private key itself, instead of `private_key_file`.").sensitive())
        .attr("host_key_fingerprint", A::optional(Type::String, "The server's host-key fingerprint, `SHA256:...`: only that key is accepted."))
        .attr("known_hosts_file", A::optional(Type::String, "An OpenSSH known_hosts file naming the server."))
        .attr(
            "trust_on_first_use",
            A::optional(Type::Bool, "Accept the key the server presents the first time, record it in `host_key`, and accept only that key afterwards. One of the three host-key settings is required."),
        )
        .attr("connect_timeout_seconds", A::optional(Type::Number, "Limit for connecting and authenticating; null means 10."))
}

fn server() -> ResourceSchema {
    connection_attrs(ResourceSchema::new(
        "A host made a Pond server over SSH, idempotently: the web stack installed where missing, the web user and group, environment variables, the virtual-host templates every environment on it is served through, and post-provision scripts. Destroying it removes Pond's server settings only; packages, users and environments stay.",
    ))
    .attr("root", A::optional_computed(Type::String, "The Pond root on the server; null means /var/www/pond. Environments live in `<root>/projects/<project>/<environment>`.").force_new())
    .attr("packages", A::optional_computed(Type::list(Type::String), "The web stack's packages; null means apache2, libapache2-mod-php, php-cli and rsync (rsync is what deployments sync with)."))
    .attr("database", A::optional(Type::String, "A database server package to install as well (\"mariadb-server\", \"mysql-server\", \"postgresql\"); null means none."))
    .attr(
        "package_check_command",
        A::optional_computed(Type::String, "Shell command that succeeds when the package `{{package}}` is installed; null means a `dpkg-query` status check. Packages present are never reinstalled."),
    )
    .attr(
        "package_install_command",
        A::optional_computed(Type::String, "Shell command, run as root, that installs the missing `{{packages}}` (space-separated); null means `DEBIAN_FRONTEND=noninteractive apt-get install -y {{packages}}`. Not run when nothing is missing."),
    )
    .attr("web_user", A::optional_computed(Type::String, "The user the web server runs as, created when missing; null means www-data."))
    .attr("web_group", A::optional_computed(Type::String, "Its group, created when missing; null means www-data. Shared storage belongs to it."))
    .attr(
        "environment_variables",
        A::optional(string_map(), "Written to `<root>/environment` (0600) as `export NAME='value'` lines, sourced by post-provision and post-deployment scripts.").sensitive(),
    )
    .attr("vhost_dir", A::optional_computed(Type::String, "Where environments write their virtual hosts; null means /etc/apache2/sites-enabled."))
    .attr("reload_command", A::optional_computed(Type::String, "Shell command, run as root, that makes the web server re-read its virtual hosts and drop cached paths after a switch; null means `apache2ctl graceful`."))
    .attr("http_port", A::optional_computed(Type::Number, "The port virtual hosts listen on (`{{http_port}}`); null means 80."))
    .attr(
        "live_vhost_template",
        A::optional_computed(Type::String, "Template of an environment's live-site virtual host: `{{server_name}}` is the domain, `{{document_root}}` the environment's `current` link; also `{{http_port}}`, `{{project}}`, `{{environment}}`, `{{domain}}`, `{{web_user}}`, `{{web_group}}`. Null means an Apache `<VirtualHost>`."),
    )
    .attr(
        "colour_vhost_template",
        A::optional_computed(Type::String, "Template of the virtual host of each colour, reachable at `{{server_name}}` = `<secret_prefix>-<colour>.<domain>`, `{{document_root}}` = the colour's directory, and `{{colour}}`; the other names as for the live template. Null means an Apache `<VirtualHost>`."),
    )
    .attr("post_provision_scripts", A::optional(Type::list(Type::String), "Bash scripts run in order after provisioning (and again when they change), as the SSH user, with `<root>/environment` sourced."))
    .attr("id", A::computed(Type::String, "`user@host:port:root`."))
    .attr("host_key", A::computed(Type::String, "The host-key fingerprint the server presented, recorded (and enforced afterwards under trust on first use)."))
    .attr(
        "connection",
        A::computed(connection_type(), "How environments reach this server: host, port, user, private_key_file, the recorded host_key_fingerprint and root. Use it in `pond_environment.servers`."),
    )
}

fn servers_attr(r: ResourceSchema, description: &str) -> ResourceSchema {
    r.attr("servers", A::required(Type::List { element: Box::new(connection_type()) }, description)).attr(
        "private_key",
        A::optional(Type::String, "The SSH private key for the servers whose entry names no `private_key_file`.")
            .sensitive(),
    )
}

fn environment() -> ResourceSchema {
    let r = ResourceSchema::new(
        "A Pond server environment (production, staging, ...) of a project: the seed's directory tree on every server, its virtual hosts, the deployed build in the blue and green colours, and which colour is live. A new `build` is deployed to the inactive colour of every server and never switches traffic; a new `live` is the switch, all servers or none.",
    )
    .attr("project", A::required(Type::String, "The project's directory name on the servers.").force_new())
    .attr("name", A::required(Type::String, "The environment's name and directory: production, staging, ...").force_new())
    .attr("type", A::optional_computed(Type::String, "\"single\" (one server; the default) or \"load_balanced\" (one or more servers behind a load balancer)."));
    servers_attr(
        r,
        "The servers of the environment (`pond_server.NAME.connection`, or the same fields by hand). Every entry needs a host-key fingerprint or a known_hosts file. Removing one unbinds it: tarn stops managing the environment there and leaves the server as it is.",
    )
    .attr("domain", A::required(Type::String, "The environment's domain: the live site's server name."))
    .attr(
        "secret_prefix",
        A::required(Type::String, "Reaches the colours directly: `<secret_prefix>-blue.<domain>` and `<secret_prefix>-green.<domain>` (one label, so a `*.<domain>` certificate covers them).").sensitive(),
    )
    .attr("config_templates", A::optional(string_map(), "Configuration files: path inside the site (\"config/database.php\", \".env\") = template. Rendered into `config/` and copied into the deployed colour; never synced from the build."))
    .attr(
        "config_variables",
        A::optional(string_map(), "Values for the configuration templates' `{{name}}`s, beside the built-in project, environment, domain, build and root (the environment's directory).").sensitive(),
    )
    .attr("pondignore", A::optional(Type::String, "The `.pondignore` text: paths of the build that deployments leave out and leave alone on the servers. Null means the source's own `.pondignore`, if any."))
    .attr("post_deployment_scripts", A::optional(Type::list(Type::String), "Bash scripts run in the deployed colour's directory after each deployment, as the SSH user, with POND_* variables set and `<root>/environment` sourced."))
    .attr("build", A::required(Type::String, "The build tag of the deployment. A new tag deploys `source` to the inactive colour of every server; the first deployment fills both colours."))
    .attr("source", A::required(Type::String, "The directory on this machine holding the build."))
    .attr("live", A::optional_computed(Type::String, "The colour serving the domain: \"blue\" (the default at creation) or \"green\". A change is the switch: `current` renamed atomically on every server, and switched back on all of them when one fails."))
    .attr(
        "live_build",
        A::optional_computed(Type::String, "The build that serves the domain. A change of `live` plans it from what the colour holds (or the `build` this apply deploys there), so the plan shows which build goes live; setting it with `live` also asserts it. Either way the switch is refused, before any server changes, when the colour holds another build.")
            .recomputed_when(&["live"]),
    )
    .attr(
        "initial_storage",
        A::optional(Type::String, "A directory on this machine (attachment files, uploads) copied into the shared `storage` of each server at its first deployment only; later changes to it do nothing."),
    )
    .attr(
        "initial_database",
        A::optional(
            database_import(),
            "A database dump imported once, at the environment's first deployment, on its first server: `file` (on this machine) is uploaded (0600) and fed on stdin to `command` (e.g. \"mysql shop\"), run in the environment's directory with the POND_* variables and `<root>/environment`. Later changes do nothing.",
        ),
    )
    .attr("delete_storage_on_destroy", A::optional(Type::Bool, "Destroying the environment also deletes its shared `storage` (uploads, sessions). Irreversible; null means false: storage is kept."))
    .attr("id", A::computed(Type::String, "`<project>/<name>`."))
    .attr("builds", A::computed(string_map(), "The build tag in each colour, `blue` and `green`."))
    .attr("last_deployment", A::computed(Type::String, "When the last deployment finished (UTC, RFC 3339), and where it went."))
}

fn status() -> ResourceSchema {
    let r = ResourceSchema::new(
        "The status of an environment on each of its servers, read over SSH: whether the server answers, the live colour, the build in each colour, the last deployment and the tail of the Pond log.",
    )
    .attr("project", A::required(Type::String, "The project's directory name."))
    .attr("name", A::required(Type::String, "The environment's name."));
    servers_attr(r, "The servers to ask (the same entries as the environment's).")
        .attr("log_lines", A::optional(Type::Number, "How many lines of each server's Pond log to return; null means 20."))
        .attr("status", A::computed(Type::List { element: Box::new(status_type()) }, "One entry per server, in order: server (host:port), running (it answered over SSH), error (why not), live, blue_build, green_build, last_deployment, log_tail."))
}

pub fn provider_schema() -> ProviderSchema {
    let mut s = ProviderSchema::default();
    s.config.insert(
        "host_overrides".to_string(),
        A::optional(
            Type::map(Type::Any),
            "Per server address (a resource's `host`): where it is really reached and its own paths, replacing what resources say: `port`, `user`, `private_key_file`, `host_key_fingerprint` (pinned), `root`, and the server settings `vhost_dir`, `reload_command`, `http_port`, `web_user`, `web_group`, `package_install_command`. `--sandbox` sets it to lead droplet addresses to its local sshd and Apache; otherwise for servers reached through a port forward. Leave those attributes unset in resources whose address is overridden.",
        ),
    );
    s.resources.insert(SERVER.to_string(), server());
    let mut env = environment().refines_plan();
    env.irreversible_when = Some("delete_storage_on_destroy".to_string());
    s.resources.insert(ENVIRONMENT.to_string(), env);
    s.data_sources.insert(STATUS.to_string(), status());
    s
}
