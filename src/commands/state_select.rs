//! Which state rows an address given to `tarn state show/mv/rm` means, and where `mv` sends
//! each. Pure functions over addresses, tested here; the commands do the IO.
//!
//! - an instance (`null_resource.n[0]`): that row;
//! - a resource (`null_resource.n`): its row, or every instance of it;
//! - a module (`module.app`, `module.app["eu"]`): every row inside it, nested modules included.

use crate::error::CliError;
use tarn_sdk::Address;
use tarn_state::ResourceRecord;

#[derive(Debug, Clone, PartialEq)]
pub enum Selector {
    Resource(Address),
    /// A module instance path in user syntax, without the trailing dot.
    Module(String),
}

impl Selector {
    pub fn parse(input: &str) -> Result<Selector, CliError> {
        let input = input.trim();
        match input.parse::<Address>() {
            Ok(a) => Ok(Selector::Resource(a)),
            Err(first) => {
                // `module.a` or `module.a[0].module.b` alone: a module path, not a resource.
                let probe = format!("{input}.tarn_probe.tarn_probe");
                match probe.parse::<Address>() {
                    Ok(a) if input.starts_with("module.") && a.mode == tarn_sdk::Mode::Managed => {
                        let shown = a.to_string();
                        Ok(Selector::Module(shown.trim_end_matches(".tarn_probe.tarn_probe").to_string()))
                    }
                    _ => Err(CliError::Failed(format!(
                        "{input:?} is not an address: {}. Addresses look like null_resource.a, null_resource.n[0], \
                         data.local_file.f or module.app (see `tarn state list`)",
                        first.reason
                    ))),
                }
            }
        }
    }

    pub fn matches(&self, row: &ResourceRecord) -> bool {
        match self {
            Selector::Resource(a) if a.key.is_some() => row.address == a.to_string(),
            Selector::Resource(a) => row.address.parse::<Address>().is_ok_and(|r| r.block() == *a),
            Selector::Module(m) => row
                .address
                .strip_prefix(m.as_str())
                .is_some_and(|rest| rest.starts_with('.') || (!m.ends_with(']') && rest.starts_with('['))),
        }
    }
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Selector::Resource(a) => write!(f, "{a}"),
            Selector::Module(m) => f.write_str(m),
        }
    }
}

/// The rows `selector` matches; an error naming the address when there are none.
pub fn select<'a>(rows: &'a [ResourceRecord], selector: &Selector) -> Result<Vec<&'a ResourceRecord>, CliError> {
    let found: Vec<_> = rows.iter().filter(|r| selector.matches(r)).collect();
    if found.is_empty() {
        let hint = tarn_core::diag::did_you_mean(&selector.to_string(), rows.iter().map(|r| r.address.as_str()))
            .map(|s| format!(" Did you mean {s}?"))
            .unwrap_or_default();
        return Err(CliError::Failed(format!(
            "the state records nothing at {selector}.{hint} Nothing was changed; `tarn state list` shows what it records."
        )));
    }
    if let Some(r) = found.iter().find(|r| r.deposed.is_some()) {
        return Err(CliError::Failed(format!(
            "{} has a deposed object (an old object a create_before_destroy replacement has not deleted yet). Nothing \
             was changed. Run `tarn apply` to finish the replacement first.",
            r.address
        )));
    }
    Ok(found)
}

/// Where `tarn state mv SRC DST` sends each matched row: `(old address, new address)`.
/// Refuses a move across kinds (module ↔ resource), across resource types or modes, and a
/// destination key when several instances would land on it.
pub fn destinations(
    rows: &[&ResourceRecord],
    src: &Selector,
    dst: &Selector,
) -> Result<Vec<(String, String)>, CliError> {
    match (src, dst) {
        (Selector::Module(from), Selector::Module(to)) => {
            Ok(rows.iter().map(|r| (r.address.clone(), format!("{to}{}", &r.address[from.len()..]))).collect())
        }
        (Selector::Resource(_), Selector::Resource(to)) => {
            let mut out = Vec::new();
            for r in rows {
                let from: Address = r.address.parse().map_err(|e| {
                    CliError::Failed(format!("the state records an unparsable address {:?}: {e}", r.address))
                })?;
                if from.mode != to.mode || from.type_name != to.type_name {
                    return Err(CliError::Failed(format!(
                        "cannot move {} ({} {}) to {to}: a row keeps its resource type and mode. Nothing was changed. \
                         To change the type, remove it with `tarn state rm` and import the object under the new type.",
                        r.address,
                        if from.mode == tarn_sdk::Mode::Data { "data source" } else { "resource" },
                        from.type_name
                    )));
                }
                let new = match (&to.key, rows.len()) {
                    (Some(_), 1) => to.clone(),
                    (Some(_), n) => {
                        return Err(CliError::Failed(format!(
                            "{src} has {n} instances and {to} names one: move them one by one, or give {} as the destination",
                            to.block()
                        )));
                    }
                    (None, _) => to.clone().with_key(from.key.clone()),
                };
                out.push((r.address.clone(), new.to_string()));
            }
            Ok(out)
        }
        _ => Err(CliError::Failed(format!(
            "cannot move {src} to {dst}: a module moves to a module address (module.NAME) and a resource to a resource \
             address (TYPE.NAME). Nothing was changed."
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(address: &str) -> ResourceRecord {
        let a: Address = address.parse().unwrap();
        ResourceRecord {
            address: address.into(),
            mode: "managed".into(),
            type_name: a.type_name.clone(),
            provider: "null".into(),
            attributes: serde_json::json!({}),
            sensitive_paths: vec![],
            dependencies: vec![],
            correlation: None,
            schema_version: 0,
            deposed: None,
        }
    }

    fn sel(s: &str) -> Selector {
        Selector::parse(s).unwrap()
    }

    #[test]
    fn selectors_match_instances_resources_and_modules() {
        let rows: Vec<_> = [
            "null_resource.a",
            "null_resource.n[0]",
            "null_resource.n[1]",
            "null_resource.nn",
            "module.app.null_resource.x",
            "module.app[\"eu\"].null_resource.x",
            "module.apple.null_resource.x",
            "module.app.module.db.null_resource.y",
        ]
        .into_iter()
        .map(row)
        .collect();
        let hits = |s: &str| rows.iter().filter(|r| sel(s).matches(r)).map(|r| r.address.as_str()).collect::<Vec<_>>();
        assert_eq!(hits("null_resource.n"), vec!["null_resource.n[0]", "null_resource.n[1]"]);
        assert_eq!(hits("null_resource.n[1]"), vec!["null_resource.n[1]"]);
        assert_eq!(hits("null_resource.a"), vec!["null_resource.a"]);
        assert_eq!(
            hits("module.app"),
            vec![
                "module.app.null_resource.x",
                "module.app[\"eu\"].null_resource.x",
                "module.app.module.db.null_resource.y"
            ]
        );
        assert_eq!(hits("module.app[\"eu\"]"), vec!["module.app[\"eu\"].null_resource.x"]);
        assert!(Selector::parse("not an address").is_err());
        assert!(Selector::parse("module.").is_err());
    }

    #[test]
    fn destinations_keep_keys_and_refuse_type_changes() {
        let rows: Vec<_> = ["null_resource.n[0]", "null_resource.n[1]"].into_iter().map(row).collect();
        let refs: Vec<_> = rows.iter().collect();
        let moved = destinations(&refs, &sel("null_resource.n"), &sel("null_resource.m")).unwrap();
        assert_eq!(moved[1], ("null_resource.n[1]".into(), "null_resource.m[1]".into()));
        assert!(destinations(&refs, &sel("null_resource.n"), &sel("null_resource.m[0]")).is_err(), "two onto one");
        assert!(destinations(&refs, &sel("null_resource.n"), &sel("local_file.n")).is_err(), "type change");
        assert!(destinations(&refs, &sel("null_resource.n"), &sel("module.x")).is_err(), "kind change");
        let one = [row("null_resource.a")];
        let moved = destinations(&[&one[0]], &sel("null_resource.a"), &sel("null_resource.b[\"k\"]")).unwrap();
        assert_eq!(moved[0].1, "null_resource.b[\"k\"]");
        let m = [row("module.app.module.db.null_resource.y")];
        let moved = destinations(&[&m[0]], &sel("module.app"), &sel("module.web[0]")).unwrap();
        assert_eq!(moved[0].1, "module.web[0].module.db.null_resource.y");
    }
}
