//! `vsn_healthcheck_cron`: health checks and alert mail by cron on the VSN (seed: "Healthcheck
//! and maintenance on the host container are performed by cron jobs. When healthcheck fails, an
//! email can be sent with mutt").
//!
//! Installs two root-owned files: the check script `/etc/tarn-vsn/healthcheck-NAME.sh` (0755)
//! and the cron entry `/etc/cron.d/tarn-vsn-NAME` (0644) that runs it as root. For each listed
//! container the script runs `ENGINE healthcheck run` when the container has a health check
//! (podman; docker's own status otherwise) and checks that it runs; any failure mails one alert
//! through sendmail or mutt. Destroy removes both files. Read compares them with what this
//! resource would write, so an edited or deleted entry shows as drift.

use tarn_sdk::{ProviderError, Value};

use crate::attrs::{self, Map, opt_str, req_str, strings};
use crate::config::EngineKind;
use crate::node::{Node, sh_quote};
use crate::remote::Scratch;

const DEFAULT_SCHEDULE: &str = "*/5 * * * *";

pub fn cron_path(name: &str) -> String {
    format!("/etc/cron.d/tarn-vsn-{name}")
}

pub fn script_path(name: &str) -> String {
    format!("/etc/tarn-vsn/healthcheck-{name}.sh")
}

/// The shell command that mails `$REPORT` with subject `$SUBJECT` to `$MAIL_TO`: through
/// sendmail, or through mutt (to `smtp_url` when given, else mutt's own sendmail).
pub fn alert_command(o: &Map, what: &str) -> Result<String, ProviderError> {
    let mailer = opt_str(o, "mailer").unwrap_or_else(|| "sendmail".to_string());
    let mailer_path = opt_str(o, "mailer_path").unwrap_or_else(|| mailer.clone());
    let one_line = |k: &str| match opt_str(o, k) {
        Some(v) if v.contains(['\n', '\r', '"', '\\']) => {
            Err(ProviderError::permanent(format!("{what}: \"{k}\" must be one line without quotes or backslashes")))
        }
        v => Ok(v),
    };
    let smtp_url = one_line("smtp_url")?;
    let from = one_line("mail_from")?;
    match mailer.as_str() {
        "sendmail" if smtp_url.is_some() => Err(ProviderError::permanent(format!(
            "{what}: \"smtp_url\" needs mailer = \"mutt\" (sendmail has its own relay settings)"
        ))),
        "sendmail" => Ok(format!(
            "{{ printf 'To: %s\\nSubject: %s\\n\\n' \"$MAIL_TO\" \"$SUBJECT\"; printf '%s\\n' \"$REPORT\"; }} | {} -t",
            sh_quote(&mailer_path)
        )),
        "mutt" => {
            // -n: no system muttrc; no copy kept; plain SMTP to the given relay.
            let mut settings = vec!["set copy=no".to_string(), "set record=\"\"".to_string()];
            if let Some(url) = smtp_url {
                settings.push(format!("set smtp_url=\"{url}\""));
                settings.push("set ssl_starttls=no".to_string());
                settings.push("set ssl_force_tls=no".to_string());
            }
            if let Some(from) = from {
                settings.push(format!("set from=\"{from}\""));
                settings.push("set use_envelope_from=yes".to_string());
            }
            let e: String = settings.iter().map(|s| format!(" -e {}", sh_quote(s))).collect();
            Ok(format!("printf '%s\\n' \"$REPORT\" | {}{e} -n -s \"$SUBJECT\" -- \"$MAIL_TO\"", sh_quote(&mailer_path)))
        }
        other => Err(ProviderError::permanent(format!(
            "{what}: \"mailer\" must be \"sendmail\" or \"mutt\", not \"{other}\""
        ))),
    }
}

struct Wanted {
    name: String,
    cron: String,
    script: String,
}

fn wanted(node: &Node, o: &Map) -> Result<Wanted, ProviderError> {
    let what = crate::schema::CRON;
    let name = req_str(o, "name", what)?;
    attrs::check_name(&name, what)?;
    let schedule = opt_str(o, "schedule").unwrap_or_else(|| DEFAULT_SCHEDULE.to_string());
    if schedule.split_whitespace().count() != 5 || schedule.contains('\n') {
        return Err(ProviderError::permanent(format!(
            "{what}: \"schedule\" must be five cron fields, not \"{schedule}\""
        )));
    }
    let mail_to = req_str(o, "mail_to", what)?;
    if mail_to.contains(['\n', '\r']) {
        return Err(ProviderError::permanent(format!("{what}: \"mail_to\" must be one line")));
    }
    let alert = alert_command(o, what)?;
    let containers = strings(o, "containers");
    for c in &containers {
        attrs::check_name(c, what)?;
    }
    let engine = &node.config.engine.program;
    let env: String = node.config.env.iter().map(|(k, v)| format!("export {k}={}\n", sh_quote(v))).collect();
    let health = match node.config.engine.kind {
        EngineKind::Podman => format!("{} healthcheck run \"$c\"", sh_quote(engine)),
        EngineKind::Docker => {
            format!("[ \"$({} inspect --format '{{{{.State.Health.Status}}}}' \"$c\")\" = healthy ]", sh_quote(engine))
        }
    };
    let script = format!(
        "#!/bin/bash\n# Installed by tarn (vsn_healthcheck_cron.{name}); changes are overwritten.\n{env}\
         MAIL_TO={mail_to}\nSUBJECT=\"tarn vsn health check failed on $(hostname)\"\nREPORT=\"\"\n\
         for c in {list}; do\n\
         \x20 running=$({eng} inspect --format '{{{{.State.Running}}}}' \"$c\" 2>&1)\n\
         \x20 if [ \"$running\" != true ]; then REPORT+=\"$c: not running ($running)\"$'\\n'; continue; fi\n\
         \x20 has=$({eng} inspect --format '{{{{if .Config.Healthcheck}}}}yes{{{{end}}}}' \"$c\" 2>/dev/null)\n\
         \x20 if [ \"$has\" = yes ] && ! out=$({health} 2>&1); then REPORT+=\"$c: health check failed: $out\"$'\\n'; fi\n\
         done\n\
         if [ -n \"$REPORT\" ]; then\n\
         \x20 {alert}\n\
         \x20 exit 1\n\
         fi\n",
        mail_to = sh_quote(&mail_to),
        list = containers.iter().map(|c| sh_quote(c)).collect::<Vec<_>>().join(" "),
        eng = sh_quote(engine),
    );
    let cron = format!(
        "# Installed by tarn (vsn_healthcheck_cron.{name}); changes are overwritten.\n{schedule} root {} >/dev/null 2>&1\n",
        script_path(&name)
    );
    Ok(Wanted { name, cron, script })
}

async fn install(node: &Node, w: &Wanted) -> Result<(), ProviderError> {
    install_files(node, &w.script, &script_path(&w.name), &w.cron, &cron_path(&w.name)).await
}

/// Installs a root-owned script (0755) and its cron entry (0644), through a scratch directory.
pub async fn install_files(
    node: &Node,
    script: &str,
    script_at: &str,
    cron: &str,
    cron_at: &str,
) -> Result<(), ProviderError> {
    let scratch = Scratch::new(node).await?;
    let result = async {
        let session = node.session().await?;
        let (s, c) = (format!("{}/script", scratch.dir), format!("{}/cron", scratch.dir));
        session.upload_bytes(script.as_bytes(), &s, 0o600).await?;
        session.upload_bytes(cron.as_bytes(), &c, 0o600).await?;
        node.script_checked(&format!(
            "mkdir -p /etc/tarn-vsn /etc/cron.d && install -o root -g root -m 0755 {s} {sp} && install -o root -g root -m 0644 {c} {cp}",
            s = sh_quote(&s),
            c = sh_quote(&c),
            sp = sh_quote(script_at),
            cp = sh_quote(cron_at),
        ))
        .await
        .map(|_| ())
    }
    .await;
    let cleaned = scratch.remove(node).await;
    result.and(cleaned)
}

pub async fn create(node: &Node, planned: Value) -> Result<Value, ProviderError> {
    let mut o = attrs::object(planned, crate::schema::CRON)?;
    let w = wanted(node, &o)?;
    install(node, &w).await?;
    attrs::set_str(&mut o, "id", cron_path(&w.name));
    Ok(Value::Map(o))
}

pub async fn update(node: &Node, planned: Value) -> Result<Value, ProviderError> {
    create(node, planned).await
}

pub async fn read(node: &Node, state: Value) -> Result<Option<Value>, ProviderError> {
    let mut o = attrs::object(state, crate::schema::CRON)?;
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
    let o = attrs::object(state, crate::schema::CRON)?;
    let name = req_str(&o, "name", crate::schema::CRON)?;
    attrs::check_name(&name, crate::schema::CRON)?;
    remove_files(node, &cron_path(&name), &script_path(&name)).await
}

/// Whether the cron file and its script on the host are what tarn wrote (`None`: either is
/// missing). Shared by the health-check and the maintenance jobs.
pub(crate) async fn files_match(
    node: &Node,
    cron_path: &str,
    cron: &str,
    script_path: &str,
    script: &str,
) -> Result<Option<bool>, ProviderError> {
    let out = node
        .script(&format!("cat -- {} && echo '#--tarn--' && cat -- {}", sh_quote(cron_path), sh_quote(script_path)))
        .await?;
    if !out.success() {
        return Ok(None);
    }
    Ok(Some(out.stdout == format!("{cron}#--tarn--\n{script}")))
}

/// Removes a job's cron file and script (absent ones are fine).
pub(crate) async fn remove_files(node: &Node, cron_path: &str, script_path: &str) -> Result<(), ProviderError> {
    node.script_checked(&format!("rm -f -- {} {}", sh_quote(cron_path), sh_quote(script_path))).await.map(|_| ())
}

/// The files render without a VSN; used by the unit test below.
#[cfg(test)]
mod tests {
    #[test]
    fn paths_are_per_name() {
        assert_eq!(super::cron_path("web"), "/etc/cron.d/tarn-vsn-web");
        assert_eq!(super::script_path("web"), "/etc/tarn-vsn/healthcheck-web.sh");
    }
}
