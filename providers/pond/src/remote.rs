//! What an environment does on one server: lay out the seed's tree, write its virtual hosts,
//! probe what is deployed, deploy a build to one colour, point `current` at a colour, remove the
//! environment.
//!
//! The tree: `<dir>/{config,blue,green,storage,current,metadata}`, `blue/storage` and
//! `green/storage` linked to `../storage`, `metadata/log` the Pond log. Metadata files:
//! `build-blue`, `build-green` (the build tag in each colour; `deploying <tag>` while a
//! deployment runs), `last-colour`, `last-deployment`. `current` is a relative symlink to
//! `blue` or `green`, replaced by rename, so a request sees one colour or the other, never none.
//! It must not put secrets on a command line (configuration files go over SFTP) and must not
//! touch anything outside the environment's directory and its virtual-host files.

use std::path::Path;

use tarn_sdk::ProviderError;

use crate::conn::{Host, q};
use crate::ignore;
use crate::model::{COLOURS, Env};
use crate::server::Settings;
use crate::template::render;

/// What a server holds for an environment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Probe {
    pub present: bool,
    /// The colour `current` points to ("" when none).
    pub live: String,
    pub blue: String,
    pub green: String,
    pub last_colour: String,
    pub last_time: String,
    pub log_tail: Vec<String>,
}

impl Probe {
    pub fn build(&self, colour: &str) -> &str {
        if colour == "green" { &self.green } else { &self.blue }
    }
}

/// Reads the environment's state on a server (and the last `log_lines` of its log).
pub async fn probe(host: &Host, dir: &str, log_lines: usize) -> Result<Probe, ProviderError> {
    let d = q(dir);
    let script = format!(
        "if [ ! -d {d}/metadata ]; then echo absent; exit 0; fi\n\
         echo \"live $(readlink {d}/current 2>/dev/null)\"\n\
         for f in build-blue build-green last-colour last-deployment; do echo \"$f $(cat {d}/metadata/$f 2>/dev/null | head -n 1)\"; done\n\
         echo log-tail; tail -n {log_lines} {d}/metadata/log 2>/dev/null; true\n"
    );
    let out = host.run(&script).await?;
    let mut p = Probe { present: true, ..Probe::default() };
    let mut in_log = false;
    for line in out.stdout.lines() {
        if in_log {
            p.log_tail.push(line.to_string());
            continue;
        }
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        let value = value.trim().to_string();
        match key {
            "absent" => return Ok(Probe::default()),
            "live" => p.live = value,
            "build-blue" => p.blue = value,
            "build-green" => p.green = value,
            "last-colour" => p.last_colour = value,
            "last-deployment" => p.last_time = value,
            "log-tail" => in_log = true,
            _ => {}
        }
    }
    Ok(p)
}

/// Runs as the SSH user, and as root when that fails and the user is not root (a tree or a
/// vhost directory the deploy user may not write).
async fn run_as_needed(host: &Host, script: &str) -> Result<(), ProviderError> {
    match host.run(script).await {
        Ok(_) => Ok(()),
        Err(e) if host.is_root => Err(e),
        Err(_) => host.run_privileged(script).await.map(|_| ()),
    }
}

/// Lays out the tree (idempotent). A new tree's `current` points to blue.
pub async fn layout(host: &Host, dir: &str, settings: &Settings) -> Result<(), ProviderError> {
    let d = q(dir);
    let script = format!(
        "set -e\n\
         mkdir -p {d}/config {d}/blue {d}/green {d}/storage/app {d}/storage/framework/sessions {d}/metadata\n\
         for c in blue green; do [ -L {d}/$c/storage ] || ln -sT ../storage {d}/$c/storage; done\n\
         [ -L {d}/current ] || ln -sT blue {d}/current\n\
         touch {d}/metadata/log\n\
         for c in blue green; do [ -e {d}/metadata/build-$c ] || : > {d}/metadata/build-$c; done\n"
    );
    run_as_needed(host, &script).await?;
    share_storage(host, dir, settings).await
}

/// The web server's group owns the shared storage and may read the configuration files.
async fn share_storage(host: &Host, dir: &str, settings: &Settings) -> Result<(), ProviderError> {
    let d = q(dir);
    let g = q(&settings.web_group);
    run_as_needed(
        host,
        &format!("chgrp -R {g} {d}/storage {d}/config && chmod -R g+rwX {d}/storage && chmod -R g+rX,o-rwx {d}/config"),
    )
    .await
}

/// Writes the environment's three virtual hosts; reloads the web server when one changed.
pub async fn vhosts(host: &Host, env: &Env, settings: &Settings) -> Result<(), ProviderError> {
    let dir = env.dir(&host.conn);
    let mut vars = env.vars(&host.conn);
    vars.insert("http_port".into(), settings.http_port.to_string());
    vars.insert("web_user".into(), settings.web_user.clone());
    vars.insert("web_group".into(), settings.web_group.clone());
    let mut install = String::from("changed=\n");
    for (file, colour) in env.vhost_files() {
        let mut v = vars.clone();
        let (template, server_name, root) = match colour {
            None => (&settings.live_vhost_template, env.domain.clone(), format!("{dir}/current")),
            Some(c) => {
                v.insert("colour".into(), c.to_string());
                (&settings.colour_vhost_template, env.colour_host(c), format!("{dir}/{c}"))
            }
        };
        v.insert("server_name".into(), server_name);
        v.insert("document_root".into(), root);
        let text = render(template, &v, &format!("of the virtual host {file}")).map_err(ProviderError::permanent)?;
        let staged = format!("{dir}/metadata/{file}");
        host.session.upload_bytes(text.as_bytes(), &staged, 0o644).await?;
        let target = format!("{}/{file}", settings.vhost_dir);
        install.push_str(&format!(
            "cmp -s {s} {t} || {{ mkdir -p {vd} && cp {s} {t} && changed=1; }}\n",
            s = q(&staged),
            t = q(&target),
            vd = q(&settings.vhost_dir)
        ));
    }
    install.push_str("[ -z \"$changed\" ] || echo changed\n");
    let out = match host.run(&install).await {
        Ok(out) => out,
        Err(_) if !host.is_root => host.run_privileged(&install).await?,
        Err(e) => return Err(e),
    };
    if out.stdout.contains("changed") {
        reload(host, settings).await?;
    }
    Ok(())
}

pub async fn reload(host: &Host, settings: &Settings) -> Result<(), ProviderError> {
    host.run_privileged(&settings.reload_command).await.map(|_| ()).map_err(|e| {
        ProviderError::permanent(format!("reloading the web server on {} failed: {}", host.conn.describe(), e.message))
    })
}

/// A local copy of the build without what `.pondignore`, the configuration files, `storage`
/// and `.pondignore` itself leave out: what is uploaded.
pub fn stage(env: &Env) -> Result<tempfile::TempDir, ProviderError> {
    let patterns = ignore::parse(&env.ignore_text());
    let staging = tempfile::Builder::new()
        .prefix("tarn-pond-build-")
        .tempdir()
        .map_err(|e| ProviderError::permanent(format!("could not create a staging directory: {e}")))?;
    // The upload gives each directory its local mode, and the colour directory takes the
    // staging root's: the web server must be able to enter it.
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&env.source).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o755);
        std::fs::set_permissions(staging.path(), std::fs::Permissions::from_mode(mode | 0o755))
            .map_err(|e| ProviderError::permanent(format!("could not set up the staging directory: {e}")))?;
    }
    let fail =
        |p: &Path, e: std::io::Error| ProviderError::permanent(format!("staging the build: {}: {e}", p.display()));
    let mut stack = vec![String::new()];
    while let Some(rel) = stack.pop() {
        let from = env.source.join(&rel);
        for entry in std::fs::read_dir(&from).map_err(|e| fail(&from, e))? {
            let entry = entry.map_err(|e| fail(&from, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let child = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
            let path = entry.path();
            let is_dir = path.is_dir();
            let reserved = child == "storage" || child == ".pondignore" || env.config_templates.contains_key(&child);
            if reserved || ignore::ignored(&patterns, &child, is_dir) {
                continue;
            }
            let to = staging.path().join(&child);
            if is_dir {
                std::fs::create_dir_all(&to).map_err(|e| fail(&to, e))?;
                stack.push(child);
            } else {
                std::fs::copy(&path, &to).map_err(|e| fail(&path, e))?;
            }
        }
    }
    Ok(staging)
}

/// The rsync rules that keep the server's own files in a colour: storage, configuration
/// files, and whatever `.pondignore` names.
fn excludes(env: &Env) -> String {
    let mut rules = vec!["/storage".to_string(), "/.pondignore".to_string()];
    rules.extend(env.config_templates.keys().map(|k| format!("/{k}")));
    rules.extend(ignore::parse(&env.ignore_text()).iter().map(ignore::Pattern::rsync_rule));
    rules.join("\n") + "\n"
}

/// Deploys the staged build to `colour`: sync, configuration files, post-deployment scripts,
/// then the build tag and a log entry. The tag reads `deploying <tag>` until everything worked.
pub async fn deploy(
    host: &Host,
    env: &Env,
    settings: &Settings,
    staged: &Path,
    colour: &str,
) -> Result<(), ProviderError> {
    let dir = env.dir(&host.conn);
    let d = q(&dir);
    let c = q(colour);
    let at = host.conn.describe();
    host.session
        .upload_bytes(format!("deploying {}\n", env.build).as_bytes(), &format!("{dir}/metadata/build-{colour}"), 0o644)
        .await?;
    host.run(&format!("rm -rf {d}/.incoming")).await?;
    host.session.upload_dir(staged, &format!("{dir}/.incoming")).await?;
    host.session.upload_bytes(excludes(env).as_bytes(), &format!("{dir}/metadata/exclude"), 0o644).await?;
    host.run(&format!(
        "set -e\nrsync -a --delete --exclude-from={d}/metadata/exclude {d}/.incoming/ {d}/{c}/\nrm -rf {d}/.incoming\n\
         [ -L {d}/{c}/storage ] || ln -sT ../storage {d}/{c}/storage\n"
    ))
    .await
    .map_err(|e| {
        ProviderError::permanent(format!("syncing build {} to {colour} on {at} failed: {}", env.build, e.message))
    })?;

    let mut vars = env.vars(&host.conn);
    vars.extend(env.config_variables.clone());
    let mut copy = String::from("set -e\n");
    for (path, template) in &env.config_templates {
        let text =
            render(template, &vars, &format!("config_templates[\"{path}\"]")).map_err(ProviderError::permanent)?;
        let parent = Path::new(path).parent().map(|p| p.display().to_string()).unwrap_or_default();
        host.run(&format!("mkdir -p {}", q(&format!("{dir}/config/{parent}")))).await?;
        host.session.upload_bytes(text.as_bytes(), &format!("{dir}/config/{path}"), 0o640).await?;
        copy.push_str(&format!(
            "mkdir -p {cp} && cp -p {src} {dst} && chgrp {g} {dst}\n",
            g = q(&settings.web_group),
            cp = q(&format!("{dir}/{colour}/{parent}")),
            src = q(&format!("{dir}/config/{path}")),
            dst = q(&format!("{dir}/{colour}/{path}"))
        ));
    }
    share_storage(host, &dir, settings).await?;
    run_as_needed(host, &copy).await?;

    let root = q(&host.conn.root);
    for (i, script) in env.scripts.iter().enumerate() {
        let path = format!("{dir}/metadata/post-deployment-{i}.sh");
        host.session.upload_bytes(script.as_bytes(), &path, 0o700).await?;
        host.run(&format!(
            "cd {d}/{c} && if [ -f {root}/environment ]; then set -a; . {root}/environment; set +a; fi && \
             POND_PROJECT={p} POND_ENVIRONMENT={e} POND_COLOUR={c} POND_BUILD={b} POND_DIR={d}/{c} POND_STORAGE={d}/storage bash -e {s}",
            p = q(&env.project),
            e = q(&env.name),
            b = q(&env.build),
            s = q(&path),
        ))
        .await
        .map_err(|e| ProviderError::permanent(format!("post-deployment script {} for {colour} on {at} failed: {}", i + 1, e.message)))?;
    }
    host.session
        .upload_bytes(format!("{}\n", env.build).as_bytes(), &format!("{dir}/metadata/build-{colour}"), 0o644)
        .await?;
    host.run(&format!(
        "set -e\nnow=$(date -u +%Y-%m-%dT%H:%M:%SZ)\necho {c} > {d}/metadata/last-colour\necho \"$now\" > {d}/metadata/last-deployment\n\
         printf '%s deployed build %s to %s\\n' \"$now\" {b} {c} >> {d}/metadata/log\n",
        b = q(&env.build)
    ))
    .await?;
    Ok(())
}

/// The first-deployment uploads: `initial_storage` into the shared storage and, when
/// `database` (the first server of a new environment), the dump fed to its command.
pub async fn initial_data(host: &Host, env: &Env, settings: &Settings, database: bool) -> Result<(), ProviderError> {
    let dir = env.dir(&host.conn);
    let d = q(&dir);
    let at = host.conn.describe();
    if let Some(local) = &env.initial_storage {
        host.session.upload_dir(local, &format!("{dir}/storage")).await?;
        share_storage(host, &dir, settings).await?;
    }
    if let (true, Some((file, command))) = (database, &env.initial_database) {
        let dump = format!("{dir}/metadata/initial-database.dump");
        host.session.upload_file(file, &dump, Some(0o600)).await?;
        let root = q(&host.conn.root);
        let result = host
            .run(&format!(
                "cd {d} && if [ -f {root}/environment ]; then set -a; . {root}/environment; set +a; fi && \
                 POND_PROJECT={p} POND_ENVIRONMENT={e} POND_DIR={d} POND_STORAGE={d}/storage sh -c {c} < {f}",
                p = q(&env.project),
                e = q(&env.name),
                c = q(command),
                f = q(&dump),
            ))
            .await;
        host.run(&format!("rm -f {}", q(&dump))).await?;
        result.map_err(|e| {
            ProviderError::permanent(format!("importing the initial database on {at} failed: {}", e.message))
        })?;
        host.run(&format!(
            "printf '%s imported the initial database\\n' \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\" >> {d}/metadata/log"
        ))
        .await?;
    }
    Ok(())
}

/// Points `current` at `colour` by renaming a fresh link over it (atomic: a request sees one
/// colour or the other, never none) and logs it. The caller reloads the web server after.
pub async fn relink(host: &Host, dir: &str, colour: &str, why: &str) -> Result<(), ProviderError> {
    if !COLOURS.contains(&colour) {
        return Err(ProviderError::permanent(format!("\"{colour}\" is not a colour; this is a bug in tarn")));
    }
    let d = q(dir);
    host.run(&format!(
        "set -e\ncd {d}\nrm -f .current.tmp\nln -s {colour} .current.tmp\nmv -T .current.tmp current\n\
         printf '%s %s: live is now %s (build %s)\\n' \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\" {why} {colour} \"$(head -n 1 metadata/build-{colour})\" >> metadata/log\n",
        why = q(why)
    ))
    .await
    .map(|_| ())
}

/// Removes the environment from a server: its virtual hosts (then a reload) and its tree, the
/// shared storage kept unless `delete_storage`.
pub async fn remove(
    host: &Host,
    env_dir: &str,
    files: &[String],
    settings: Option<&Settings>,
    delete_storage: bool,
) -> Result<(), ProviderError> {
    if let Some(s) = settings {
        let rm: Vec<String> = files.iter().map(|f| q(&format!("{}/{f}", s.vhost_dir))).collect();
        run_as_needed(host, &format!("rm -f {}", rm.join(" "))).await?;
        reload(host, s).await?;
    }
    let d = q(env_dir);
    let script = if delete_storage {
        format!("rm -rf {d}")
    } else {
        format!("[ ! -d {d} ] || find {d} -mindepth 1 -maxdepth 1 ! -name storage -exec rm -rf {{}} +")
    };
    run_as_needed(host, &script).await
}
