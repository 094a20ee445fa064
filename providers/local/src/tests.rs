//! Unit tests of the local provider against real files in temporary directories: schema shape,
//! round trips, drift, plan-time checksums, adopt, data sources, validation and IO errors.

use crate::LocalProvider;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use tarn_sdk::{
    AdoptRequest, CreateRequest, DeleteRequest, ErrorClass, PlanRequest, Provider, ReadDataRequest, ReadRequest,
    UpdateRequest, Value,
};

const HELLO_SHA1: &str = "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d";

fn s(v: &str) -> Value {
    Value::string(v)
}

fn path_str(p: &Path) -> Value {
    Value::string(p.to_string_lossy())
}

/// A `local_file` configuration with every attribute present, as the engine passes it.
fn config(filename: &Path, extra: &[(&str, Value)]) -> Value {
    let mut m = indexmap::IndexMap::new();
    m.insert("filename".to_string(), path_str(filename));
    for attr in ["content", "content_base64", "source", "file_permission", "directory_permission"] {
        m.insert(attr.to_string(), Value::Null);
    }
    for (k, v) in extra {
        m.insert(k.to_string(), v.clone());
    }
    Value::Map(m)
}

async fn create(type_name: &str, planned: Value) -> Result<Value, tarn_sdk::ProviderError> {
    LocalProvider::new().create(CreateRequest { type_name: type_name.into(), planned, correlation: "c".into() }).await
}

async fn read(state: &Value) -> Option<Value> {
    let req = ReadRequest { type_name: "local_file".into(), state: state.clone() };
    LocalProvider::new().read(req).await.unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn attr<'a>(v: &'a Value, name: &str) -> &'a str {
    v.get(name).and_then(Value::as_str).unwrap_or_else(|| panic!("{name} is not a string in {v}"))
}

#[test]
fn schema_matches_hashicorp_local() {
    let schema = LocalProvider::new().schema();
    let expected = [
        "filename",
        "content",
        "content_base64",
        "source",
        "file_permission",
        "directory_permission",
        "id",
        "content_md5",
        "content_sha1",
        "content_sha256",
        "content_base64sha256",
        "content_sha512",
        "content_base64sha512",
    ];
    for type_name in ["local_file", "local_sensitive_file"] {
        let r = &schema.resources[type_name];
        assert_eq!(r.attributes.keys().map(String::as_str).collect::<Vec<_>>(), expected);
        assert!(r.attributes["filename"].required);
        for (name, a) in &r.attributes {
            assert_eq!(a.force_new, !a.computed, "{type_name}.{name}: every configurable attribute forces replacement");
        }
        let secret = type_name == "local_sensitive_file";
        assert_eq!(r.attributes["content"].sensitive, secret);
        assert_eq!(r.attributes["content_base64"].sensitive, secret);
        // Unsalted hashes of a secret give it away (issue 12): sensitive with the content.
        for name in &expected[6..] {
            assert_eq!(r.attributes[*name].sensitive, secret, "{type_name}.{name}");
        }
        let d = &schema.data_sources[type_name];
        assert!(d.attributes["filename"].required);
        assert!(d.attributes["content"].computed && d.attributes["id"].computed);
        assert_eq!(d.attributes["content"].sensitive, secret);
        assert_eq!(d.attributes["content_sha256"].sensitive, secret);
    }
    assert!(!schema.resources["local_file"].attributes.contains_key("sensitive_content"));
}

#[tokio::test]
async fn create_read_delete_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hello.txt");
    let state = create("local_file", config(&path, &[("content", s("hello"))])).await.unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "hello");
    assert_eq!(mode(&path), 0o777, "the default mode is set exactly, whatever the umask");
    assert_eq!(attr(&state, "id"), HELLO_SHA1);
    assert_eq!(attr(&state, "content_sha1"), HELLO_SHA1);
    assert_eq!(attr(&state, "content_md5"), "5d41402abc4b2a76b9719d911017c592");
    assert_eq!(attr(&state, "content_sha256"), "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    assert_eq!(attr(&state, "content_base64sha256"), "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=");
    assert!(state.get("file_permission").unwrap().is_null(), "an unset permission stays null: it means the default");

    assert_eq!(read(&state).await, Some(state.clone()), "an untouched file refreshes to the same state");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers, ["hello.txt"], "no temporary file is left behind");

    let p = LocalProvider::new();
    p.delete(DeleteRequest { type_name: "local_file".into(), state: state.clone() }).await.unwrap();
    assert!(!path.exists());
    assert_eq!(read(&state).await, None);
    p.delete(DeleteRequest { type_name: "local_file".into(), state }).await.unwrap();
}

#[tokio::test]
async fn permissions_and_parent_directories_are_created_as_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/secret.txt");
    let planned =
        config(&path, &[("content", s("x")), ("file_permission", s("0640")), ("directory_permission", s("750"))]);
    let state = create("local_file", planned).await.unwrap();
    assert_eq!(mode(&path), 0o640);
    assert_eq!(mode(&dir.path().join("a")), 0o750);
    assert_eq!(mode(&dir.path().join("a/b")), 0o750);
    assert_eq!(read(&state).await, Some(state.clone()), "\"750\" and 0750 are the same permission");

    let sensitive = dir.path().join("s.txt");
    create("local_sensitive_file", config(&sensitive, &[("content", s("pw"))])).await.unwrap();
    assert_eq!(mode(&sensitive), 0o700, "sensitive files default to owner-only");
}

#[tokio::test]
async fn base64_and_source_supply_exact_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    let state = create("local_file", config(&bin, &[("content_base64", s("AP8BAg=="))])).await.unwrap();
    assert_eq!(std::fs::read(&bin).unwrap(), [0u8, 255, 1, 2]);
    assert_eq!(read(&state).await, Some(state.clone()));

    let copy = dir.path().join("copy");
    let state = create("local_file", config(&copy, &[("source", path_str(&bin))])).await.unwrap();
    assert_eq!(std::fs::read(&copy).unwrap(), [0u8, 255, 1, 2]);
    assert_eq!(attr(&state, "source"), bin.to_string_lossy());
    assert!(state.get("content").unwrap().is_null());
}

#[tokio::test]
async fn drift_in_content_mode_and_existence_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.txt");
    let state =
        create("local_file", config(&path, &[("content", s("hello")), ("file_permission", s("0644"))])).await.unwrap();

    std::fs::write(&path, "edited").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let refreshed = read(&state).await.unwrap();
    assert_eq!(attr(&refreshed, "content"), "edited");
    assert_ne!(attr(&refreshed, "id"), HELLO_SHA1);
    assert_eq!(attr(&refreshed, "content_sha1"), attr(&refreshed, "id"));
    assert_eq!(attr(&refreshed, "file_permission"), "0600");

    std::fs::remove_file(&path).unwrap();
    assert_eq!(read(&state).await, None);

    // A base64-sourced file reports drift in content_base64.
    let bin = dir.path().join("bin");
    let state = create("local_file", config(&bin, &[("content_base64", s("aGk="))])).await.unwrap();
    std::fs::write(&bin, "yo").unwrap();
    let refreshed = read(&state).await.unwrap();
    assert_eq!(attr(&refreshed, "content_base64"), "eW8=");
    assert!(refreshed.get("content").unwrap().is_null());
    assert!(refreshed.get("file_permission").unwrap().is_null(), "an unchanged default mode stays null");
}

async fn plan(prior: Option<Value>, proposed: Value) -> tarn_sdk::PlanResponse {
    LocalProvider::new().plan(PlanRequest { type_name: "local_file".into(), prior, proposed }).await.unwrap()
}

#[tokio::test]
async fn plan_knows_checksums_of_known_content_and_replaces_drifted_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.txt");
    let planned = plan(None, config(&path, &[("content", s("hello"))])).await;
    assert_eq!(attr(&planned.planned, "id"), HELLO_SHA1);
    assert!(planned.requires_replace.is_empty());

    let unknown = plan(None, config(&path, &[("content", Value::Unknown)])).await;
    assert!(unknown.planned.get("id").unwrap().is_unknown());
    assert!(unknown.planned.get("content_sha256").unwrap().is_unknown());

    let state = create("local_file", config(&path, &[("content", s("hello"))])).await.unwrap();
    let same = plan(Some(state.clone()), config(&path, &[("content", s("hello"))])).await;
    assert!(same.requires_replace.is_empty());
    assert_eq!(same.planned.get("id"), state.get("id"));

    std::fs::write(&path, "edited").unwrap();
    let refreshed = read(&state).await.unwrap();
    let replan = plan(Some(refreshed), config(&path, &[("content", s("hello"))])).await;
    assert_eq!(replan.requires_replace, ["content"]);
    assert_eq!(attr(&replan.planned, "id"), HELLO_SHA1);
}

#[tokio::test]
async fn plan_reads_source_only_to_confirm_the_prior_object() {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    std::fs::write(&src, "hello").unwrap();
    let cfg = config(&dst, &[("source", path_str(&src))]);

    let fresh = plan(None, cfg.clone()).await;
    assert!(fresh.planned.get("id").unwrap().is_unknown(), "source is read at apply");

    let state = create("local_file", cfg.clone()).await.unwrap();
    let same = plan(Some(state.clone()), cfg.clone()).await;
    assert!(same.requires_replace.is_empty());
    assert_eq!(attr(&same.planned, "id"), HELLO_SHA1);

    std::fs::write(&src, "changed").unwrap();
    let changed = plan(Some(state), cfg).await;
    assert_eq!(changed.requires_replace, ["source"]);
    assert!(changed.planned.get("id").unwrap().is_unknown());
}

#[tokio::test]
async fn update_carries_computed_attributes_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u.txt");
    let prior = create("local_file", config(&path, &[("content", s("hello"))])).await.unwrap();
    let mut planned = config(&path, &[("content", s("hello"))]);
    if let Value::Map(m) = &mut planned {
        m.insert("id".into(), Value::Unknown);
    }
    let req = UpdateRequest { type_name: "local_file".into(), prior: prior.clone(), planned };
    assert_eq!(LocalProvider::new().update(req).await.unwrap(), prior);
}

#[tokio::test]
async fn adopt_claims_a_file_only_with_the_planned_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.txt");
    let planned = config(&path, &[("content", s("hello"))]);
    let adopt = |planned: Value| async {
        let req = AdoptRequest { type_name: "local_file".into(), correlation: "c".into(), planned };
        LocalProvider::new().adopt(req).await.unwrap()
    };
    assert_eq!(adopt(planned.clone()).await, None, "no file, nothing to adopt");

    std::fs::write(&path, "hello").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
    let adopted = adopt(planned.clone()).await.unwrap();
    assert_eq!(attr(&adopted, "id"), HELLO_SHA1);
    assert_eq!(read(&adopted).await, Some(adopted.clone()));

    std::fs::write(&path, "someone else's").unwrap();
    assert_eq!(adopt(planned).await, None);
}

#[tokio::test]
async fn data_sources_read_content_and_checksums() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.txt");
    std::fs::write(&path, "hello").unwrap();
    for type_name in ["local_file", "local_sensitive_file"] {
        let req = ReadDataRequest { type_name: type_name.into(), config: Value::map([("filename", path_str(&path))]) };
        let out = LocalProvider::new().read_data(req).await.unwrap();
        assert_eq!(attr(&out, "content"), "hello");
        assert_eq!(attr(&out, "content_base64"), "aGVsbG8=");
        assert_eq!(attr(&out, "id"), HELLO_SHA1);
        assert_eq!(attr(&out, "content_md5"), "5d41402abc4b2a76b9719d911017c592");
    }
    let missing = dir.path().join("missing.txt");
    let req =
        ReadDataRequest { type_name: "local_file".into(), config: Value::map([("filename", path_str(&missing))]) };
    let err = LocalProvider::new().read_data(req).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Permanent);
    assert!(err.message.contains(&*missing.to_string_lossy()), "{}", err.message);
}

#[tokio::test]
async fn invalid_configuration_is_a_permanent_error_in_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.txt");
    let err = create("local_file", config(&path, &[])).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Permanent);
    assert!(err.message.contains("exactly one of content, content_base64 or source"), "{}", err.message);

    let two = config(&path, &[("content", s("a")), ("source", s("/etc/hostname"))]);
    let err = create("local_file", two).await.unwrap_err();
    assert!(err.message.contains("content and source are set"), "{}", err.message);

    for bad in ["999", "12345", "rw", "0800", "07777", "1777"] {
        let cfg = config(&path, &[("content", s("a")), ("file_permission", s(bad))]);
        let err = create("local_file", cfg.clone()).await.unwrap_err();
        assert_eq!(err.class, ErrorClass::Permanent, "{bad}");
        assert!(err.message.contains(&format!("\"{bad}\"")) && err.message.ends_with('.'), "{}", err.message);
        let err = LocalProvider::new()
            .plan(PlanRequest { type_name: "local_file".into(), prior: None, proposed: cfg })
            .await
            .unwrap_err();
        assert!(err.message.contains("file_permission"), "plan validates too: {}", err.message);
    }

    let err = create("local_file", config(&path, &[("content", Value::number(1.0))])).await.unwrap_err();
    assert!(err.message.contains("content must be a string"), "{}", err.message);
    let err = create("local_file", config(&path, &[("content_base64", s("%%%"))])).await.unwrap_err();
    assert!(err.message.contains("not valid base64"), "{}", err.message);
    let err = create("local_file", Value::map([("content", s("a"))])).await.unwrap_err();
    assert!(err.message.contains("filename is required"), "{}", err.message);
    let err = create("local_thing", config(&path, &[])).await.unwrap_err();
    assert!(err.message.contains("local_thing"));
    assert!(!path.exists(), "no failed create leaves a file");
}

#[tokio::test]
async fn io_errors_name_the_path_and_the_os_reason() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("plain-file");
    std::fs::write(&blocker, "x").unwrap();
    let under_a_file = blocker.join("child.txt");
    let err = create("local_file", config(&under_a_file, &[("content", s("a"))])).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Permanent);
    assert!(err.message.contains(&*blocker.to_string_lossy()), "{}", err.message);
    assert!(err.message.contains("os error"), "{}", err.message);

    let missing_source = dir.path().join("nope");
    let err = create("local_file", config(&dir.path().join("out"), &[("source", path_str(&missing_source))]))
        .await
        .unwrap_err();
    assert!(err.message.contains(&*missing_source.to_string_lossy()), "{}", err.message);
    assert!(err.message.contains("No such file"), "{}", err.message);
}

#[tokio::test]
async fn relative_filenames_resolve_against_the_current_directory() {
    // The only test that uses a relative path; the others use absolute ones, so changing the
    // process's directory here cannot disturb them.
    let dir = tempfile::tempdir().unwrap();
    std::env::set_current_dir(dir.path()).unwrap();
    let state = create("local_file", config(Path::new("rel/out.txt"), &[("content", s("r"))])).await.unwrap();
    assert_eq!(std::fs::read_to_string(dir.path().join("rel/out.txt")).unwrap(), "r");
    assert_eq!(attr(&state, "filename"), "rel/out.txt");
}
