//! End-to-end tests of the `tarn` binary: one test binary, one module per concern. Every test
//! runs the real binary (`CARGO_BIN_EXE_tarn`) in its own temporary directory, against the
//! built-in null, local and fault providers; nothing uses the network.
//!
//! - `exit_codes` — the documented exit code of every command
//! - `bad_input` — diagnostics with file:line:col and snippets, nothing changed, no panic
//! - `early_checks` — arguments checkable without the state refused before the lock and any provider
//! - `rollback` — failure policies rollback / halt / continue and what they leave behind
//! - `crash` — `kill -9` at many points of an apply: no object tarn does not know about
//! - `saved_plan` — plan files: exact apply, staleness (serial, configuration)
//! - `secrets` — sensitive values never printed nor written to plan files
//! - `damaged` — a missing, empty, unreadable or older state database refused; `tarn state restore`
//! - `lock` — the state lock: refusal naming the holder, `--lock-timeout`, dead holders
//! - `lease` — a tarn suspended past its lease (SIGSTOP/SIGCONT) while another takes the lock, on both backends
//! - `console` — `tarn console`: expressions on stdin, values from state and modules, secrets hidden, no lock
//! - `output` — show / output / state list / graph / completions / -C / --help / colour
//! - `import` — import blocks and `tarn import`: plan, apply, rollback, refusals
//! - `drift` — `tarn drift`: exit codes, report formats, secrets, ignore rules, read-only
//! - `drift_schedule` — `tarn drift --every` with report file, webhook and Prometheus metrics
//! - `markdown` — `tarn show PLANFILE --markdown`, the pull-request comment
//! - `workflow` — quickstart, drift, target/exclude/replace, retries, Ctrl-C, JSON syntax
//! - `interrupts` — SIGINT and SIGTERM during apply, destroy, drift and import, on SQLite and
//!   PostgreSQL: what finished kept, `--on-interrupt=rollback`, a second signal and adoption
//! - `surgery` — state show / mv / rm / pull / push / rekey
//! - `history` — run history and one run's journal
//! - `habits` — durations, the OS user in history, carets under wide characters
//! - `workspace` — workspaces, --input=false and CI=true, dead locks taken over
//! - `postgres` — the PostgreSQL backend end to end: selection, secrets in a pg_dump, bad input, workspaces
//!   and surgery on it
//! - `concurrent` — two applies of one stack at once, on SQLite and on PostgreSQL
//! - `migrate` — `tarn state migrate` between SQLite and PostgreSQL, both directions
//! - `vsn` — the vsn provider over a real sshd and podman: deploy, update, rollback, drift, destroy, data kept
//! - `pond` — the pond provider over two real sshd and Apache + PHP: deploy, the switch as a plan, a failed
//!   switch rolled back on both servers (exit 3), drift, destroy; and the same servers reached as
//!   DigitalOcean droplets under `--sandbox` (the emulator's droplet addresses lead to the sshd)
//! - `pagw` — the pagw provider with a real MariaDB, sshd and dockerd and the Proxmox emulator: two
//!   state directories claiming slots at once, a failed build or deploy rolled back (slot
//!   released), a duplicate address refused, the zombie guard, the default singleton, the plan's
//!   note on a gateway's destroy
//! - `sandbox` — `--sandbox` against the Cloudflare emulator, and `tarn sim serve`
//! - `serve` — `tarn serve --sandbox` driven over plain HTTP as a device: every answer checked against
//!   the Provisioning Engine's api.yaml and schemas; history (refused requests too), metrics,
//!   graceful shutdown; 423 for a function really not RUNNING, GET showing a VM gone
//! - `serve_replicas` — two `tarn serve` on one PostgreSQL state and one OpenNebula emulator: runtimes
//!   shared, two requests for one runtime serialised
//! - `openstack` — the openstack provider under `--sandbox`: apply, empty replan, drift, destroy
//! - `meveo` — the meveo example (Scaleway server, Cloudflare record and lockdown) under
//!   `--sandbox`: apply and empty re-plan, rollback of a failure in the middle, kill -9, token refused
//! - `plugins` — external providers (the Python example plugin, crashing plugins), `tarn providers`
//! - `provider_move` — an instance moved to another provider configuration: replaced through both
//! - `validate` — `tarn validate` finding every error at once; pre/postconditions, `check` blocks,
//!   version constraints, `removed` blocks, `--refresh-only`

mod harness;

mod bad_input;
mod console;
mod crash;
mod damaged;
mod drift;
mod drift_schedule;
mod early_checks;
mod exit_codes;
mod habits;
mod history;
mod import;
mod interrupts;
mod lease;
mod lock;
mod markdown;
mod meveo;
mod openstack;
mod output;
mod plugins;
mod provider_move;
mod rollback;
mod sandbox;
mod saved_plan;
mod secrets;
mod serve;
mod serverless;
mod surgery;
mod validate;
mod workflow;
mod workspace;

mod concurrent;
mod migrate;
mod pagw;
mod pond;
mod postgres;
mod serve_replicas;
mod vsn;
