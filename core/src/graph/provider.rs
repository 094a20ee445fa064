//! Which provider configuration serves a resource: the `provider` meta-argument or the type's
//! prefix, looked up in the resource's module, then through the module call's `providers = {}`
//! mapping or (for default configurations) inherited from the calling module, up to an implicit
//! empty configuration at the root. Pure lookups over the configuration; no evaluation.

use crate::config::{Config, ModuleTree, Resource};
use std::fmt;

/// A provider configuration: where it is declared (static module path) and `name[.alias]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProviderAddr {
    pub module: Vec<String>,
    pub name: String,
    pub alias: Option<String>,
}

impl fmt::Display for ProviderAddr {
    /// `null`, `null.alias`, `module.m.null`: the key used in plans and state.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for m in &self.module {
            write!(f, "module.{m}.")?;
        }
        f.write_str(&self.name)?;
        if let Some(a) = &self.alias {
            write!(f, ".{a}")?;
        }
        Ok(())
    }
}

/// The module tree at a static module path.
pub fn module_at<'a>(config: &'a Config, path: &[String]) -> Option<&'a ModuleTree> {
    let mut tree = &config.root;
    for step in path {
        tree = tree.children.get(step)?;
    }
    Some(tree)
}

/// The provider name and alias a resource asks for.
pub fn requested_provider(resource: &Resource) -> (String, Option<String>) {
    match &resource.provider {
        Some(p) => (p.name.clone(), p.alias.clone()),
        None => (implied_provider(&resource.type_name).to_string(), None),
    }
}

/// `null_resource` → `null`.
pub fn implied_provider(type_name: &str) -> &str {
    type_name.split('_').next().unwrap_or(type_name)
}

/// Resolves `name[.alias]` as seen from module `module` to the configuration that serves it.
/// Errors are full sentences for a diagnostic.
pub fn resolve_provider(
    config: &Config,
    module: &[String],
    name: &str,
    alias: Option<&str>,
) -> Result<ProviderAddr, String> {
    let mut path: Vec<String> = module.to_vec();
    let mut name = name.to_string();
    let mut alias = alias.map(str::to_string);
    loop {
        let tree = module_at(config, &path).ok_or_else(|| "the module is not in the configuration".to_string())?;
        if tree.module.providers.iter().any(|p| p.name == name && p.alias == alias) {
            return Ok(ProviderAddr { module: path, name, alias });
        }
        let Some(call_name) = path.last().cloned() else {
            return match alias {
                None => Ok(ProviderAddr { module: Vec::new(), name, alias: None }),
                Some(a) => Err(format!(
                    "There is no provider \"{name}\" block with alias = \"{a}\". Add one, or refer to a configuration that exists."
                )),
            };
        };
        let parent = &path[..path.len() - 1];
        let parent_tree = module_at(config, parent).ok_or_else(|| "the calling module is missing".to_string())?;
        let key = match &alias {
            Some(a) => format!("{name}.{a}"),
            None => name.clone(),
        };
        let mapped = parent_tree
            .module
            .module_calls
            .get(&call_name)
            .and_then(|c| c.providers.iter().find(|(k, _)| *k == key).map(|(_, r)| r.clone()));
        path.pop();
        match mapped {
            Some(r) => {
                name = r.name;
                alias = r.alias;
            }
            None if alias.is_none() => {}
            None => {
                return Err(format!(
                    "Module \"{call_name}\" uses provider \"{key}\", which its caller does not pass in `providers = {{ {key} = ... }}` and the module does not declare."
                ));
            }
        }
    }
}

/// Whether configuration declares provider configuration `addr`: a `provider` block with its
/// name and alias in its module, or — for a root default configuration — implicitly (an empty
/// configuration serves a provider nobody configured).
pub fn declares(config: &Config, addr: &ProviderAddr) -> bool {
    let declared = module_at(config, &addr.module)
        .is_some_and(|t| t.module.providers.iter().any(|p| p.name == addr.name && p.alias == addr.alias));
    declared || (addr.module.is_empty() && addr.alias.is_none())
}

/// The provider configuration key of a resource in module `module`, or an error sentence.
pub fn provider_key(config: &Config, module: &[String], resource: &Resource) -> Result<ProviderAddr, String> {
    let (name, alias) = requested_provider(resource);
    resolve_provider(config, module, &name, alias.as_deref())
}
