//! Unit tests of drift analysis: attribute paths, nesting, sensitive values, deletions, and
//! the two kinds of ignore rules.

use super::*;
use crate::plan::refresh::PriorObject;

fn addr(s: &str) -> Address {
    s.parse().unwrap()
}

fn prior(addresses: &[&str]) -> PriorState {
    PriorState {
        objects: addresses
            .iter()
            .map(|a| PriorObject {
                address: addr(a),
                provider: "local".into(),
                value: Some(Value::Null),
                dependencies: Vec::new(),
                sensitive_paths: Vec::new(),
                deposed: None,
            })
            .collect(),
        ..PriorState::default()
    }
}

fn drift(a: &str, recorded: Value, actual: Option<Value>) -> Drift {
    Drift { address: addr(a), recorded: Some(recorded), actual }
}

fn paths(changes: &[AttributeDrift]) -> Vec<String> {
    changes.iter().map(AttributeDrift::display_path).collect()
}

#[test]
fn nested_maps_and_equal_length_lists_give_leaf_paths() {
    let before = Value::map([
        ("id", Value::string("1")),
        ("triggers", Value::map([("a", Value::string("x")), ("b", Value::string("y"))])),
        ("tags", Value::List(vec![Value::string("p"), Value::string("q")])),
        ("ports", Value::List(vec![Value::number(1.0)])),
    ]);
    let after = Value::map([
        ("id", Value::string("1")),
        ("triggers", Value::map([("a", Value::string("x")), ("b", Value::string("z")), ("c.d", Value::string("new"))])),
        ("tags", Value::List(vec![Value::string("p"), Value::string("r")])),
        ("ports", Value::List(vec![Value::number(1.0), Value::number(2.0)])),
    ]);
    let changes = attribute_changes(&before, &after);
    assert_eq!(paths(&changes), ["ports", "tags[1]", "triggers.b", "triggers[\"c.d\"]"]);
    assert_eq!(changes[2].pointer(), "/triggers/b");
    assert_eq!(changes[3].recorded, None, "an added key has no recorded value");
    assert_eq!(changes[3].actual, Some(Value::string("new")));
}

#[test]
fn null_and_absent_are_the_same_and_marks_alone_are_not_drift() {
    let before = Value::map([("a", Value::Null), ("pw", Value::string("s"))]);
    let after = Value::map([("pw", Value::string("s").sensitive())]);
    assert!(attribute_changes(&before, &after).is_empty());
}

#[test]
fn a_sensitive_value_is_one_difference_flagged_sensitive() {
    let before = Value::map([("content", Value::string("old secret").sensitive()), ("id", Value::string("1"))]);
    let after = Value::map([("content", Value::string("new secret").sensitive()), ("id", Value::string("2"))]);
    let changes = attribute_changes(&before, &after);
    assert_eq!(paths(&changes), ["content", "id"]);
    assert!(changes[0].sensitive());
    assert!(!changes[1].sensitive());
    // Inside a sensitive map nothing is descended into: its keys could be secret too.
    let before = Value::map([("cfg", Value::map([("k", Value::string("a"))]).sensitive())]);
    let after = Value::map([("cfg", Value::map([("k", Value::string("b"))]).sensitive())]);
    assert_eq!(paths(&attribute_changes(&before, &after)), ["cfg"]);
}

#[test]
fn analyze_reports_changed_and_deleted_in_address_order_and_counts_checked() {
    let p = prior(&["local_file.b", "local_file.a", "data.local_file.d"]);
    let d = [
        drift("local_file.b", Value::map([("content", Value::string("x"))]), None),
        drift(
            "local_file.a",
            Value::map([("content", Value::string("x"))]),
            Some(Value::map([("content", Value::string("y"))])),
        ),
    ];
    let report = analyze(&p, &d, &[]);
    assert_eq!(report.checked, 2, "data sources are not checked");
    assert!(report.has_drift());
    let got: Vec<_> = report.resources.iter().map(|r| (r.address.to_string(), r.kind, r.changes.len())).collect();
    assert_eq!(
        got,
        [("local_file.a".to_string(), DriftKind::Changed, 1), ("local_file.b".to_string(), DriftKind::Deleted, 0)]
    );
    assert_eq!(report.resources[0].provider, "local");
    assert_eq!(report.count(DriftKind::Deleted), 1);
}

#[test]
fn ignore_rules_parse_addresses_with_attribute_paths() {
    let r = IgnoreRule::parse("local_file.f").unwrap();
    assert_eq!(r.target, Target::Address(addr("local_file.f")));
    assert!(r.path.is_empty());
    let r = IgnoreRule::parse("module.m.null_resource.n[\"a.b\"].triggers.version").unwrap();
    assert_eq!(r.target, Target::Address(addr("module.m.null_resource.n[\"a.b\"]")));
    assert_eq!(r.path, ["triggers", "version"]);
    let r = IgnoreRule::parse("x_thing.y.tags[0].name").unwrap();
    assert_eq!(r.path, ["tags", "0", "name"]);
    let r = IgnoreRule::parse("x_thing.y.labels[\"k.v\"]").unwrap();
    assert_eq!(r.path, ["labels", "k.v"]);
    for bad in ["", "nonsense", "local_file", "x_thing.y..z", "x_thing.y.labels[\"open"] {
        assert!(IgnoreRule::parse(bad).is_err(), "{bad:?} should be refused");
    }
}

#[test]
fn per_run_ignores_drop_attributes_or_whole_objects() {
    let p = prior(&["local_file.a", "local_file.b", "null_resource.n[0]", "null_resource.n[1]"]);
    let changed = |a: &str| {
        drift(
            a,
            Value::map([("content", Value::string("x")), ("id", Value::string("1"))]),
            Some(Value::map([("content", Value::string("y")), ("id", Value::string("2"))])),
        )
    };
    let d = [
        changed("local_file.a"),
        drift("local_file.b", Value::Map(Default::default()), None),
        changed("null_resource.n[0]"),
        changed("null_resource.n[1]"),
    ];
    let rules = [
        IgnoreRule::parse("local_file.a.content").unwrap(),
        IgnoreRule::parse("local_file.b").unwrap(),
        IgnoreRule::parse("null_resource.n").unwrap(),
    ];
    let report = analyze(&p, &d, &rules);
    assert_eq!(report.resources.len(), 1, "{report:?}");
    assert_eq!(paths(&report.resources[0].changes), ["id"]);
    assert_eq!(report.ignored, 1 + 1 + 2, "one attribute, one deleted object, two block instances");
}

#[test]
fn lifecycle_ignore_changes_is_honoured_but_deletion_still_counts() {
    let (config, diags) = crate::load::load_sources(&[(
        "main.tarn.hcl",
        r#"
resource "null_resource" "some" {
  lifecycle { ignore_changes = [triggers] }
}
resource "null_resource" "all" {
  count = 2
  lifecycle { ignore_changes = all }
}
"#,
    )]);
    assert!(!diags.has_errors(), "{diags:?}");
    let rules = config_ignore_rules(&config);
    assert_eq!(rules.len(), 2);
    let p = prior(&["null_resource.some", "null_resource.all[0]", "null_resource.all[1]"]);
    let before = Value::map([("id", Value::string("1")), ("triggers", Value::map([("v", Value::string("1"))]))]);
    let after = Value::map([("id", Value::string("2")), ("triggers", Value::map([("v", Value::string("2"))]))]);
    let d = [
        drift("null_resource.some", before.clone(), Some(after.clone())),
        drift("null_resource.all[0]", before.clone(), Some(after)),
        drift("null_resource.all[1]", before, None),
    ];
    let report = analyze(&p, &d, &rules);
    let got: Vec<_> = report.resources.iter().map(|r| (r.address.to_string(), paths(&r.changes))).collect();
    assert_eq!(
        got,
        [("null_resource.all[1]".to_string(), vec![]), ("null_resource.some".to_string(), vec!["id".to_string()])]
    );
    assert_eq!(report.ignored, 1 + 2);
}
