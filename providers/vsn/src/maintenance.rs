//! `vsn_maintenance_cron`: a maintenance job on the host container, by cron, beside the health
//! check (seed: "Healthcheck and maintenance on the host container are performed by cron jobs").
//!
//! Installs, like `vsn_healthcheck_cron` (cron.rs), a root-owned script
//! `/etc/tarn-vsn/maintenance-NAME.sh` (0755) and the cron entry `/etc/cron.d/tarn-vsn-maint-NAME`
//! (0644). The script runs `ENGINE exec HOST sh -c COMMAND`; when it fails (or the host is not
//! running) and `mail_to` is set, it mails the exit status and the output's last lines through
//! sendmail or mutt. Read compares both files with what this resource would write, so an edited
//! or deleted entry shows as drift; destroy removes both.

use tarn_sdk::{ProviderError, Value};

use crate::attrs::{self, Map, opt_str, req_str};
use crate::cron::{alert_command, files_match, install_files, remove_files};
use crate::node::{Node, sh_quote};

pub fn cron_path(name: &str) -> String {
    format!("/etc/cron.d/tarn-vsn-maint-{name}")
}

pub fn script_path(name: &str) -> String {
    format!("/etc/tarn-vsn/maintenance-{name}.sh")
}

struct Wanted {
    name: String,
    cron: String,
    script: String,
}

fn wanted(node: &Node, o: &Map) -> Result<Wanted, ProviderError> {
    let what = crate::schema::MAINTENANCE;
    let name = req_str(o, "name", what)?;
    attrs::check_name(&name, what)?;
    let host = req_str(o, "host", what)?;
    attrs::check_name(&host, what)?;
    let schedule = req_str(o, "schedule", what)?;
    if schedule.split_whitespace().count() != 5 || schedule.contains(['\n', '\r']) {
        return Err(ProviderError::permanent(format!(
            "{what}: \"schedule\" must be five cron fields, not \"{schedule}\""
        )));
    }
    let command = req_str(o, "command", what)?;
    let mail = match opt_str(o, "mail_to") {
        Some(to) if to.contains(['\n', '\r']) => {
            return Err(ProviderError::permanent(format!("{what}: \"mail_to\" must be one line")));
        }
        Some(to) => format!(
            "if [ \"$status\" -ne 0 ]; then\n\
             \x20 MAIL_TO={to}\n\
             \x20 SUBJECT=\"tarn vsn maintenance {name} failed on $(hostname)\"\n\
             \x20 REPORT=\"maintenance job {name} on {host} exited with status $status\"$'\\n'\"$(printf '%s\\n' \"$out\" | tail -n 50)\"\n\
             \x20 {alert}\n\
             fi\n",
            to = sh_quote(&to),
            alert = alert_command(o, what)?,
        ),
        None => String::new(),
    };
    let engine = sh_quote(&node.config.engine.program);
    let env: String = node.config.env.iter().map(|(k, v)| format!("export {k}={}\n", sh_quote(v))).collect();
    let script = format!(
        "#!/bin/bash\n# Installed by tarn (vsn_maintenance_cron.{name}); changes are overwritten.\n{env}\
         out=$({engine} exec {h} sh -c {c} 2>&1)\nstatus=$?\n{mail}exit $status\n",
        h = sh_quote(&host),
        c = sh_quote(&command),
    );
    let cron = format!(
        "# Installed by tarn (vsn_maintenance_cron.{name}); changes are overwritten.\n{schedule} root {} >/dev/null 2>&1\n",
        script_path(&name)
    );
    Ok(Wanted { name, cron, script })
}

pub async fn create(node: &Node, planned: Value) -> Result<Value, ProviderError> {
    let mut o = attrs::object(planned, crate::schema::MAINTENANCE)?;
    let w = wanted(node, &o)?;
    install_files(node, &w.script, &script_path(&w.name), &w.cron, &cron_path(&w.name)).await?;
    attrs::set_str(&mut o, "id", cron_path(&w.name));
    Ok(Value::Map(o))
}

pub async fn read(node: &Node, state: Value) -> Result<Option<Value>, ProviderError> {
    let mut o = attrs::object(state, crate::schema::MAINTENANCE)?;
    let w = wanted(node, &o)?;
    let Some(same) = files_match(node, &cron_path(&w.name), &w.cron, &script_path(&w.name), &w.script).await? else {
        return Ok(None);
    };
    if !same {
        // Something else edited the files: the schedule shows it, and apply rewrites both.
        attrs::set_str(&mut o, "schedule", "(edited outside tarn)");
    }
    Ok(Some(Value::Map(o)))
}

pub async fn delete(node: &Node, state: Value) -> Result<(), ProviderError> {
    let o = attrs::object(state, crate::schema::MAINTENANCE)?;
    let name = req_str(&o, "name", crate::schema::MAINTENANCE)?;
    attrs::check_name(&name, crate::schema::MAINTENANCE)?;
    remove_files(node, &cron_path(&name), &script_path(&name)).await
}
