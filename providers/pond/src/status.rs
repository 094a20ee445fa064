//! The `pond_environment_status` data source: the seed's "Environment status" screen as data.
//! Per server, in order: whether it answers over SSH (`running`; `error` says why not), the
//! live colour, the build in each colour, the last deployment and the tail of the Pond log.
//!
//! It only reads: an unreachable server is a row, not an error, so a status can be taken while
//! a droplet is down.

use crate::conn::Reach;
use tarn_sdk::{ProviderError, Value};

use crate::conn::Host;
use crate::model::{env_dir, servers};
use crate::remote;

pub async fn read(pool: &Reach, config: Value) -> Result<Value, ProviderError> {
    let list = servers(&config, "pond_environment_status")?;
    let project = config.get("project").and_then(Value::as_str).unwrap_or_default().to_string();
    let name = config.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
    let lines = config.get("log_lines").and_then(Value::as_f64).unwrap_or(20.0).clamp(0.0, 10_000.0) as usize;
    let mut rows = Vec::new();
    for conn in list {
        let at = conn.endpoint();
        let probe = match Host::connect(pool, conn).await {
            Ok(host) => remote::probe(&host, &env_dir(&host.conn.root, &project, &name), lines).await,
            Err(e) => Err(e),
        };
        let text = |s: &str| if s.is_empty() { Value::Null } else { Value::string(s) };
        let row = match probe {
            Ok(p) => Value::map([
                ("server", Value::string(at)),
                ("running", Value::Bool(true)),
                ("error", if p.present { Value::Null } else { Value::string("the environment is not on this server") }),
                ("live", text(&p.live)),
                ("blue_build", text(&p.blue)),
                ("green_build", text(&p.green)),
                ("last_deployment", text(&p.last_time)),
                ("log_tail", Value::List(p.log_tail.into_iter().map(Value::string).collect())),
            ]),
            Err(e) => Value::map([
                ("server", Value::string(at)),
                ("running", Value::Bool(false)),
                ("error", Value::string(e.message)),
                ("live", Value::Null),
                ("blue_build", Value::Null),
                ("green_build", Value::Null),
                ("last_deployment", Value::Null),
                ("log_tail", Value::List(Vec::new())),
            ]),
        };
        rows.push(row);
    }
    let mut out = config.as_map().cloned().unwrap_or_default();
    out.insert("status".into(), Value::List(rows));
    Ok(Value::Map(out))
}
