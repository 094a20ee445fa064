//! Property test: no function panics on any input, at any arity, with any marks or nesting.

use super::{FuncContext, call, names};
use proptest::prelude::*;
use tarn_sdk::Value;

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        Just(Value::Unknown),
        any::<bool>().prop_map(Value::Bool),
        prop_oneof![Just(0.0), Just(-1.0), Just(1.5), Just(1e300), Just(-9.0e15), (-40i32..300).prop_map(f64::from)]
            .prop_map(Value::number),
        "[a-z0-9%/.*{},:\\[\\]~ü🤔-]{0,8}".prop_map(Value::String),
        prop_oneof![
            Just("10.0.0.0/8"),
            Just("fd00::/56"),
            Just("2018-01-02T23:12:01Z"),
            Just("/(a)(?P<x>b)/"),
            Just("%[3]*d %-08.3q"),
            Just("YYYY 'x"),
            Just("1h-3m")
        ]
        .prop_map(Value::string),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
            prop::collection::vec(("[a-c]{1,2}", inner.clone()), 0..3).prop_map(Value::map),
            inner.prop_map(Value::sensitive),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]
    #[test]
    fn no_function_panics_on_any_input(args in prop::collection::vec(value(), 5)) {
        // Keep the filesystem functions inside an empty directory.
        let dir = tempfile::tempdir().unwrap();
        let ctx = FuncContext { module_dir: dir.path(), cwd: None, home: None };
        let absolute = args.first().and_then(Value::as_str).is_some_and(|p| p.starts_with('/') || p.starts_with('~'));
        for name in names() {
            if name == "fileset" && absolute {
                continue;
            }
            for k in 0..=args.len() {
                let _ = call(name, args.get(..k).unwrap_or(&[]).to_vec(), &ctx);
            }
        }
    }
}
