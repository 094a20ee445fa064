//! `pond_environment`: create, read, update, delete, and the switch.
//!
//! - create: on every server the tree and virtual hosts, the build deployed to both colours
//!   (the seed's first deployment), then `live` switched to.
//! - update: converges. Servers new to the list (or whose tree is gone) get a first deployment;
//!   servers removed from the list are left exactly as they are (unbinding). A changed
//!   deployment input (build, source, templates, variables, `.pondignore`, scripts) deploys to
//!   the colour that is not live on each server: traffic never moves. Then, when `live` differs
//!   from a server's `current`, the switch: all servers or none.
//! - read: the live colour and the build tags as the servers say, so a hand-made switch or a
//!   changed build tag shows as drift. Servers that disagree read as `mixed (...)`, which no
//!   configuration equals, so the next apply puts them back in line.
//!
//! It must not switch traffic as a side effect of a deployment, nor leave a switch half done:
//! a failure on one server switches the others back before the error is returned.

use crate::conn::Reach;
use tarn_sdk::{ProviderError, Value};

use crate::conn::{Conn, Host};
use crate::model::{COLOURS, Env, other};
use crate::plan::DEPLOYMENT_INPUTS;
use crate::remote::{self, Probe};
use crate::server::Settings;

/// A connected server of the environment with its settings.
struct Member {
    host: Host,
    settings: Settings,
    dir: String,
}

async fn connect(pool: &Reach, env: &Env, conn: &Conn) -> Result<Member, ProviderError> {
    let host = Host::connect(pool, conn.clone()).await?;
    let settings = Settings::load(&host).await?.ok_or_else(|| {
        ProviderError::permanent(format!(
            "{} is not a Pond server (no {}/server.json): provision it with a pond_server first",
            conn.describe(),
            conn.root
        ))
    })?;
    Ok(Member { dir: env.dir(&host.conn), host, settings })
}

/// Connects to every server and lays out the tree and virtual hosts there.
async fn prepare(pool: &Reach, env: &Env) -> Result<Vec<Member>, ProviderError> {
    let mut members = Vec::new();
    for conn in &env.servers {
        let m = connect(pool, env, conn).await?;
        remote::layout(&m.host, &m.dir, &m.settings).await?;
        remote::vhosts(&m.host, env, &m.settings).await?;
        members.push(m);
    }
    Ok(members)
}

/// The switch: every member whose `current` is not `colour` is pointed at it and its web
/// server reloaded, in order. When one fails, it and the ones already switched are pointed back
/// (and reloaded, best effort: with the link back, a server that failed to reload still serves
/// the old colour), and the error says what happened.
async fn switch(members: &[Member], probes: &[Probe], colour: &str, build: &str) -> Result<(), ProviderError> {
    let mut done: Vec<usize> = Vec::new();
    let why = format!("tarn switch to build {build}");
    for (i, m) in members.iter().enumerate() {
        if probes[i].live == colour {
            continue;
        }
        let step = async {
            remote::relink(&m.host, &m.dir, colour, &why).await?;
            done.push(i);
            remote::reload(&m.host, &m.settings).await
        };
        let Err(e) = step.await else { continue };
        let mut restored = Vec::new();
        let mut stuck = Vec::new();
        for &j in done.iter().rev() {
            let before =
                if COLOURS.contains(&probes[j].live.as_str()) { probes[j].live.as_str() } else { other(colour) };
            let at = members[j].host.conn.endpoint();
            match remote::relink(&members[j].host, &members[j].dir, before, "tarn switch failed, switched back").await {
                Ok(()) => {
                    let _ = remote::reload(&members[j].host, &members[j].settings).await;
                    restored.push(format!("{at} ({before})"));
                }
                Err(e2) => stuck.push(format!("{at}: {}", e2.message)),
            }
        }
        let at = m.host.conn.endpoint();
        let msg = if stuck.is_empty() {
            format!(
                "switching the environment to {colour} failed on {at}: {}. No server was left switched: {}.",
                e.message,
                if restored.is_empty() {
                    "none had been switched".to_string()
                } else {
                    format!("{} point back as before", restored.join(", "))
                }
            )
        } else {
            format!(
                "switching to {colour} failed on {at}: {}; switching back FAILED on {}: check those servers' `current` link",
                e.message,
                stuck.join("; ")
            )
        };
        return Err(ProviderError::permanent(msg));
    }
    Ok(())
}

/// Checks `live_build` before a switch: the target colour must hold it on every server.
fn check_live_build(members: &[Member], probes: &[Probe], colour: &str, wanted: &str) -> Result<(), ProviderError> {
    let wrong: Vec<String> = members
        .iter()
        .zip(probes)
        .filter(|(_, p)| p.build(colour) != wanted)
        .map(|(m, p)| format!("{} holds \"{}\"", m.host.conn.endpoint(), p.build(colour)))
        .collect();
    if wrong.is_empty() {
        return Ok(());
    }
    Err(ProviderError::permanent(format!(
        "live_build is \"{wanted}\" but {colour} on {}; nothing was switched. Deploy \"{wanted}\" first, or set live_build to what {colour} holds.",
        wrong.join(", ")
    )))
}

async fn probes(members: &[Member]) -> Result<Vec<Probe>, ProviderError> {
    let mut out = Vec::new();
    for m in members {
        out.push(remote::probe(&m.host, &m.dir, 0).await?);
    }
    Ok(out)
}

fn builds_empty(p: &Probe) -> bool {
    !p.present || COLOURS.iter().all(|c| p.build(c).is_empty())
}

/// Creates the environment. A failure after a server was touched reports what exists as
/// partially created, so the executor records it (and its rollback removes it) instead of
/// leaving trees on servers that no state knows about.
pub async fn create(pool: &Reach, planned: Value) -> Result<Value, ProviderError> {
    let env = Env::parse(&planned)?;
    let staged = remote::stage(&env)?;
    match build(pool, &env, &staged, planned.clone()).await {
        Ok(v) => Ok(v),
        Err(e) => match read(pool, planned).await {
            Ok(Some(exists)) => Err(ProviderError::partially_created(e.message, exists)),
            _ => Err(e),
        },
    }
}

async fn build(pool: &Reach, env: &Env, staged: &tempfile::TempDir, planned: Value) -> Result<Value, ProviderError> {
    let members = prepare(pool, env).await?;
    for (i, m) in members.iter().enumerate() {
        remote::initial_data(&m.host, env, &m.settings, i == 0).await?;
        for colour in COLOURS {
            remote::deploy(&m.host, env, &m.settings, staged.path(), colour).await?;
        }
    }
    let found = probes(&members).await?;
    switch(&members, &found, &env.live, &env.build).await?;
    settle(pool, planned).await
}

pub async fn update(pool: &Reach, prior: Value, planned: Value) -> Result<Value, ProviderError> {
    let env = Env::parse(&planned)?;
    let before = crate::model::servers(&prior, "pond_environment").unwrap_or_default();
    let known = |c: &Conn| before.iter().any(|b| b.endpoint() == c.endpoint() && b.root == c.root);
    let redeploy = DEPLOYMENT_INPUTS.iter().any(|k| prior.get(k) != planned.get(k));
    let members = prepare(pool, &env).await?;
    let found = probes(&members).await?;
    let mut staged = None;
    for (m, p) in members.iter().zip(&found) {
        let fresh = !known(&m.host.conn) || builds_empty(p);
        if !fresh && !redeploy {
            continue;
        }
        if staged.is_none() {
            staged = Some(remote::stage(&env)?);
        }
        let dir = staged.as_ref().map(|s| s.path().to_path_buf()).unwrap_or_default();
        if fresh {
            // A first deployment on this server: attachments, both colours, live where the
            // others are. The database was imported when the environment was created.
            remote::initial_data(&m.host, &env, &m.settings, false).await?;
            for colour in COLOURS {
                remote::deploy(&m.host, &env, &m.settings, &dir, colour).await?;
            }
        } else {
            let live = if COLOURS.contains(&p.live.as_str()) { p.live.as_str() } else { "blue" };
            remote::deploy(&m.host, &env, &m.settings, &dir, other(live)).await?;
        }
    }
    let found = probes(&members).await?;
    let prior_live_build = prior.get("live_build").and_then(Value::as_str);
    if let Some(wanted) = planned.get("live_build").and_then(Value::as_str).filter(|w| Some(*w) != prior_live_build) {
        check_live_build(&members, &found, &env.live, wanted)?;
    }
    switch(&members, &found, &env.live, &env.build).await?;
    settle(pool, planned).await
}

/// The object after a create or update: the configuration with what the servers now say.
async fn settle(pool: &Reach, planned: Value) -> Result<Value, ProviderError> {
    read(pool, planned).await?.ok_or_else(|| {
        ProviderError::permanent("the environment was written but reads back as absent; this is a bug in tarn")
    })
}

/// One value for all servers, or `mixed (...)` naming each.
fn agree(values: &[(String, String)]) -> String {
    match values.first() {
        Some((_, first)) if values.iter().all(|(_, v)| v == first) => first.clone(),
        _ => format!(
            "mixed ({})",
            values
                .iter()
                .map(|(at, v)| format!("{at} {}", if v.is_empty() { "-" } else { v }))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

pub async fn read(pool: &Reach, state: Value) -> Result<Option<Value>, ProviderError> {
    let env_servers = crate::model::servers(&state, "pond_environment")?;
    let project = state.get("project").and_then(Value::as_str).unwrap_or_default().to_string();
    let name = state.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
    let mut rows: Vec<(String, Result<Probe, String>)> = Vec::new();
    for conn in &env_servers {
        let probe = match Host::connect(pool, conn.clone()).await {
            Ok(host) => {
                let dir = crate::model::env_dir(&host.conn.root, &project, &name);
                remote::probe(&host, &dir, 0).await.map_err(|e| e.message)
            }
            Err(e) => Err(e.message),
        };
        rows.push((conn.endpoint(), probe));
    }
    if rows.iter().all(|(_, r)| r.as_ref().is_ok_and(|p| !p.present)) {
        return Ok(None);
    }
    if rows.iter().all(|(_, r)| r.is_err()) {
        let why: Vec<String> =
            rows.iter().filter_map(|(at, r)| r.as_ref().err().map(|e| format!("{at}: {e}"))).collect();
        return Err(ProviderError::transient(format!("no server of {project}/{name} answered: {}", why.join("; "))));
    }
    let pick = |f: &dyn Fn(&Probe) -> String| -> Vec<(String, String)> {
        rows.iter()
            .map(|(at, r)| {
                let v = match r {
                    Ok(p) if p.present => f(p),
                    Ok(_) => "absent".to_string(),
                    Err(_) => "unreachable".to_string(),
                };
                (at.clone(), v)
            })
            .collect()
    };
    let live = agree(&pick(&|p| p.live.clone()));
    let blue = agree(&pick(&|p| p.blue.clone()));
    let green = agree(&pick(&|p| p.green.clone()));
    let build = agree(&pick(&|p| p.build(&p.last_colour).to_string()));
    let last = rows
        .iter()
        .filter_map(|(at, r)| {
            r.as_ref()
                .ok()
                .filter(|p| p.present && !p.last_time.is_empty())
                .map(|p| (p.last_time.clone(), at.clone(), p.last_colour.clone()))
        })
        .max();
    let live_build = match live.as_str() {
        "blue" => blue.clone(),
        "green" => green.clone(),
        _ => live.clone(),
    };
    let mut m = state.as_map().cloned().unwrap_or_default();
    let kind = m.get("type").and_then(Value::as_str).unwrap_or("single").to_string();
    m.insert("type".into(), Value::string(kind));
    m.insert("live".into(), Value::string(live));
    m.insert("live_build".into(), Value::string(live_build));
    m.insert("build".into(), Value::string(build));
    m.insert("builds".into(), Value::map([("blue", Value::string(blue)), ("green", Value::string(green))]));
    m.insert(
        "last_deployment".into(),
        last.map(|(t, at, c)| Value::string(format!("{t} ({c} on {at})"))).unwrap_or(Value::Null),
    );
    m.insert("id".into(), Value::string(format!("{project}/{name}")));
    Ok(Some(Value::Map(m)))
}

pub async fn delete(pool: &Reach, state: Value) -> Result<(), ProviderError> {
    let servers = crate::model::servers(&state, "pond_environment")?;
    let project = state.get("project").and_then(Value::as_str).unwrap_or_default();
    let name = state.get("name").and_then(Value::as_str).unwrap_or_default();
    let delete_storage = state.get("delete_storage_on_destroy").and_then(Value::as_bool).unwrap_or(false);
    let base = format!("pond-{project}-{name}");
    let files = [format!("{base}.conf"), format!("{base}-blue.conf"), format!("{base}-green.conf")];
    for conn in servers {
        let host = Host::connect(pool, conn).await?;
        let settings = Settings::load(&host).await?;
        let dir = crate::model::env_dir(&host.conn.root, project, name);
        remote::remove(&host, &dir, &files, settings.as_ref(), delete_storage).await?;
    }
    Ok(())
}
