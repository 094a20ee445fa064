//! The `pagw_slots` data source: every slot with its state, and the few variables an operator
//! reads to choose (host, driver, management VLAN). Never the environment's private key.

use tarn_sdk::{ProviderError, Value};

use crate::Ctx;
use crate::db::slots;

pub async fn read(ctx: &Ctx, config: Value) -> Result<Value, ProviderError> {
    let all = slots::list(ctx.db()?).await?;
    let list = all
        .iter()
        .map(|s| {
            let var = |n: &str| Value::string(s.slot.var(n).unwrap_or_default());
            Value::map([
                ("id", Value::number(s.slot.id)),
                ("address", Value::string(s.slot.ip.clone())),
                ("state", Value::string(s.state())),
                ("project", Value::string(s.project.clone().unwrap_or_default())),
                ("host", var("PAGW_HOST")),
                ("deploy_driver", var("PAGW_DEPLOY_DRIVER")),
                ("mgmt_vlan", var("PAGW_MGMT_VLAN")),
            ])
        })
        .collect();
    let mut o = config.as_map().cloned().unwrap_or_default();
    o.insert("slots".into(), Value::List(list));
    Ok(Value::Map(o))
}
