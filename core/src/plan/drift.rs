//! Drift analysis for `tarn drift`: from what refresh found (recorded vs actual value of each
//! object) to a [`DriftReport`] of attribute-level differences, leaving out what ignore rules
//! say does not matter (`lifecycle { ignore_changes }` in the configuration, and per-run
//! `--ignore ADDR[.ATTR]`). Pure: no IO, no provider calls; refresh did the reading.
//!
//! Values keep their sensitive marks, so renderers can show the location of a drifted secret
//! without ever showing the secret.

use super::model::Drift;
use super::refresh::PriorState;
use crate::config::{Config, IgnoreChanges, ModuleTree};
use std::fmt;
use tarn_sdk::{Address, Mode, Value};

/// One step of an attribute path: a map key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

/// One attribute that differs between the state and the real object. `None` means absent (or
/// null) on that side.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeDrift {
    pub path: Vec<PathStep>,
    pub recorded: Option<Value>,
    pub actual: Option<Value>,
}

impl AttributeDrift {
    /// The path in the user's syntax: `content`, `triggers.pw`, `tags[0]`, `labels["a.b"]`.
    pub fn display_path(&self) -> String {
        let mut out = String::new();
        for step in &self.path {
            match step {
                PathStep::Key(k) if is_ident(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                PathStep::Key(k) => out.push_str(&format!("[{k:?}]")),
                PathStep::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }

    /// The path as a JSON pointer (`/triggers/pw`), as in the rest of tarn's JSON output.
    pub fn pointer(&self) -> String {
        self.path
            .iter()
            .map(|s| match s {
                PathStep::Key(k) => format!("/{}", k.replace('~', "~0").replace('/', "~1")),
                PathStep::Index(i) => format!("/{i}"),
            })
            .collect()
    }

    /// Whether either side is (or holds) a sensitive value: its content must never be shown.
    pub fn sensitive(&self) -> bool {
        [&self.recorded, &self.actual].into_iter().flatten().any(Value::contains_sensitive)
    }
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// The object exists with other attribute values than recorded.
    Changed,
    /// The object is gone.
    Deleted,
}

/// One drifted object.
#[derive(Debug, Clone)]
pub struct ResourceDrift {
    pub address: Address,
    pub provider: String,
    pub kind: DriftKind,
    /// The differing attributes (empty for a deleted object), in path order.
    pub changes: Vec<AttributeDrift>,
    pub recorded: Option<Value>,
    pub actual: Option<Value>,
}

/// What one drift check found.
#[derive(Debug, Clone, Default)]
pub struct DriftReport {
    /// Managed objects read.
    pub checked: usize,
    /// Drifted objects, in address order.
    pub resources: Vec<ResourceDrift>,
    /// Differences left out by ignore rules (attributes, or whole objects for `--ignore ADDR`).
    pub ignored: usize,
}

impl DriftReport {
    pub fn has_drift(&self) -> bool {
        !self.resources.is_empty()
    }
    pub fn count(&self, kind: DriftKind) -> usize {
        self.resources.iter().filter(|r| r.kind == kind).count()
    }
}

/// Which differences do not count as drift: an object (or a whole resource block, or every
/// instance of a block in a module), optionally narrowed to an attribute path prefix. An empty
/// `path` ignores the object altogether, deletion included.
#[derive(Debug, Clone, PartialEq)]
pub struct IgnoreRule {
    pub target: Target,
    /// Attribute path prefix (keys and indexes as written); empty: the whole object.
    pub path: Vec<String>,
    /// Ignore every attribute but still report deletion (`ignore_changes = all`).
    pub attributes_only: bool,
}

/// The objects a rule applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// An address as given on the command line: an instance, or a block (every instance).
    Address(Address),
    /// A resource block of the configuration, in every instance of the modules it is in.
    Block { modules: Vec<String>, mode: Mode, type_name: String, name: String },
}

impl Target {
    fn matches(&self, a: &Address) -> bool {
        match self {
            Target::Address(t) => a == t || (t.key.is_none() && a.is_within(t)),
            Target::Block { modules, mode, type_name, name } => {
                a.mode == *mode
                    && a.type_name == *type_name
                    && a.name == *name
                    && a.module.len() == modules.len()
                    && a.module.iter().zip(modules).all(|(s, m)| s.name == *m)
            }
        }
    }
}

impl IgnoreRule {
    /// Parses `--ignore ADDR` or `--ignore ADDR.ATTR.PATH` (`local_file.f`,
    /// `module.m.null_resource.n["a"].triggers.version`, `x.y.tags[0]`).
    pub fn parse(input: &str) -> Result<IgnoreRule, String> {
        let input = input.trim();
        // The longest prefix that is an address, cut at a `.` outside brackets and quotes.
        let mut cuts = vec![input.len()];
        let (mut depth, mut quoted, mut escaped) = (0i32, false, false);
        for (i, c) in input.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                '[' if !quoted => depth += 1,
                ']' if !quoted => depth -= 1,
                '.' if !quoted && depth == 0 => cuts.push(i),
                _ => {}
            }
        }
        cuts.sort_unstable_by(|a, b| b.cmp(a));
        for cut in cuts {
            let Ok(address) = input[..cut].parse::<Address>() else { continue };
            let rest = &input[cut..];
            let path = parse_path(rest.strip_prefix('.').unwrap_or(rest))
                .ok_or_else(|| format!("{input:?}: cannot read the attribute path after {address}"))?;
            return Ok(IgnoreRule { target: Target::Address(address), path, attributes_only: false });
        }
        Err(format!(
            "{input:?} is not an address: expected ADDR or ADDR.ATTRIBUTE, like local_file.motd or local_file.motd.content"
        ))
    }

    fn covers_object(&self, a: &Address) -> bool {
        self.path.is_empty() && !self.attributes_only && self.target.matches(a)
    }

    fn covers(&self, a: &Address, path: &[PathStep]) -> bool {
        self.target.matches(a)
            && self.path.len() <= path.len()
            && self.path.iter().zip(path).all(|(want, step)| match step {
                PathStep::Key(k) => k == want,
                PathStep::Index(i) => i.to_string() == *want,
            })
    }
}

/// `tags[0].name` → ["tags", "0", "name"]; `labels["a.b"]` → ["labels", "a.b"].
fn parse_path(s: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('[') {
            let (key, tail) = if let Some(q) = inner.strip_prefix('"') {
                let end = q.find('"')?;
                (q[..end].to_string(), q[end + 1..].strip_prefix(']')?)
            } else {
                let end = inner.find(']')?;
                (inner[..end].trim().to_string(), &inner[end + 1..])
            };
            out.push(key);
            rest = tail.strip_prefix('.').unwrap_or(tail);
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            if end == 0 {
                return None;
            }
            out.push(rest[..end].to_string());
            rest = rest[end..].strip_prefix('.').unwrap_or(&rest[end..]);
        }
    }
    Some(out)
}

/// The `lifecycle { ignore_changes }` of every resource block in the configuration, as rules:
/// an attribute the configuration says to leave alone is not drift (an autoscaler's
/// `desired_capacity`), but a deleted object still is.
pub fn config_ignore_rules(config: &Config) -> Vec<IgnoreRule> {
    let mut rules = Vec::new();
    collect_rules(&config.root, &mut Vec::new(), &mut rules);
    rules
}

fn collect_rules(tree: &ModuleTree, modules: &mut Vec<String>, rules: &mut Vec<IgnoreRule>) {
    for r in tree.module.resources.values() {
        let target = || Target::Block {
            modules: modules.clone(),
            mode: r.mode,
            type_name: r.type_name.clone(),
            name: r.name.clone(),
        };
        match &r.lifecycle.ignore_changes {
            IgnoreChanges::All => rules.push(IgnoreRule { target: target(), path: Vec::new(), attributes_only: true }),
            IgnoreChanges::Attributes(names) => rules.extend(names.iter().map(|n| IgnoreRule {
                target: target(),
                path: vec![n.clone()],
                attributes_only: false,
            })),
            IgnoreChanges::None => {}
        }
    }
    for (name, child) in &tree.children {
        modules.push(name.clone());
        collect_rules(child, modules, rules);
        modules.pop();
    }
}

/// Builds the report from refresh's results. `prior` is the state as recorded (for the count
/// of objects checked and their providers); `drift` is what refresh found different.
pub fn analyze(prior: &PriorState, drift: &[Drift], rules: &[IgnoreRule]) -> DriftReport {
    let mut report = DriftReport {
        // Deposed objects (old halves of a create_before_destroy) are deleted by the next plan
        // whatever they look like, so refresh reports no drift for them and they are not counted.
        checked: prior.objects.iter().filter(|o| o.address.mode == Mode::Managed && o.deposed.is_none()).count(),
        ..DriftReport::default()
    };
    let index = prior.index();
    for d in drift.iter().filter(|d| d.address.mode == Mode::Managed) {
        if rules.iter().any(|r| r.covers_object(&d.address)) {
            report.ignored += 1;
            continue;
        }
        let provider = index.get(&d.address).map(|&i| prior.objects[i].provider.clone()).unwrap_or_default();
        let (kind, changes) = match (&d.recorded, &d.actual) {
            (_, None) => (DriftKind::Deleted, Vec::new()),
            (recorded, Some(actual)) => {
                let all = attribute_changes(recorded.as_ref().unwrap_or(&Value::Null), actual);
                let before = all.len();
                let kept: Vec<_> =
                    all.into_iter().filter(|c| !rules.iter().any(|r| r.covers(&d.address, &c.path))).collect();
                report.ignored += before - kept.len();
                if kept.is_empty() {
                    continue;
                }
                (DriftKind::Changed, kept)
            }
        };
        report.resources.push(ResourceDrift {
            address: d.address.clone(),
            provider,
            kind,
            changes,
            recorded: d.recorded.clone(),
            actual: d.actual.clone(),
        });
    }
    report.resources.sort_by(|a, b| a.address.cmp(&b.address));
    report
}

/// The attributes that differ between `recorded` and `actual`, as leaf paths: maps are
/// descended into, lists of equal length element by element; anything else (a list that grew,
/// a type change, a sensitive value) is one difference at its path. A null and an absent
/// attribute are the same; sensitivity marks alone are not a difference.
pub fn attribute_changes(recorded: &Value, actual: &Value) -> Vec<AttributeDrift> {
    let mut out = Vec::new();
    walk(Some(recorded), Some(actual), &mut Vec::new(), &mut out);
    out
}

fn walk(b: Option<&Value>, a: Option<&Value>, path: &mut Vec<PathStep>, out: &mut Vec<AttributeDrift>) {
    let b = b.filter(|v| !v.is_null());
    let a = a.filter(|v| !v.is_null());
    let same = match (b, a) {
        (None, None) => true,
        (Some(x), Some(y)) => x.to_json_unmarked() == y.to_json_unmarked(),
        _ => false,
    };
    if same {
        return;
    }
    fn plain(v: Option<&Value>) -> Option<&Value> {
        v.filter(|v| !v.is_sensitive())
    }
    match (plain(b), plain(a)) {
        (Some(Value::Map(bm)), Some(Value::Map(am))) => {
            let mut keys: Vec<&String> = bm.keys().chain(am.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                path.push(PathStep::Key(k.clone()));
                walk(bm.get(k), am.get(k), path, out);
                path.pop();
            }
        }
        (Some(Value::List(bl) | Value::Set(bl)), Some(Value::List(al) | Value::Set(al))) if bl.len() == al.len() => {
            for (i, (x, y)) in bl.iter().zip(al).enumerate() {
                path.push(PathStep::Index(i));
                walk(Some(x), Some(y), path, out);
                path.pop();
            }
        }
        _ => out.push(AttributeDrift { path: path.clone(), recorded: b.cloned(), actual: a.cloned() }),
    }
}

impl fmt::Display for PathStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathStep::Key(k) => write!(f, "{k}"),
            PathStep::Index(i) => write!(f, "{i}"),
        }
    }
}

#[cfg(test)]
#[path = "drift_tests.rs"]
mod tests;
