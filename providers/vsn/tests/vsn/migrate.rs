//! Moving a volume's data from another VSN (`migrate_from`): two harness VSNs (two real sshds,
//! two data roots) in front of this machine's podman. The copy is checked here independently
//! (`testing::checksums`, a directory walk with SHA-256 computed by the harness), not only by the provider's manifests.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use tarn_provider_vsn::testing::{TestVsn, checksums as walk};
use tarn_sdk::{CreateRequest, PlanRequest, Provider, Value};

use super::support::*;

const IDLE: [&str; 3] = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"];

/// Source data with every kind of entry the copy must carry.
fn fill(dir: &Path) {
    std::fs::create_dir_all(dir.join("nested/deeper/deepest")).unwrap();
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    std::fs::write(dir.join("nested/deeper/deepest/leaf.txt"), "leaf\n").unwrap();
    std::fs::write(dir.join("binary.bin"), (0..=255u8).cycle().take(300_000).collect::<Vec<u8>>()).unwrap();
    std::fs::write(dir.join("name with spaces.txt"), "spaced\n").unwrap();
    std::fs::write(dir.join("secret.key"), "private\n").unwrap();
    std::fs::set_permissions(dir.join("secret.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(dir.join("nested/deeper"), std::fs::Permissions::from_mode(0o750)).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711)).unwrap();
    symlink("nested/deeper/deepest/leaf.txt", dir.join("link-to-leaf")).unwrap();
}

struct Pair {
    old: TestVsn,
    new: TestVsn,
    p: std::sync::Arc<dyn Provider>,
    host_id: Value,
    image: String,
    src: PathBuf,
}

async fn pair() -> Pair {
    let old = vsn();
    let mut new = vsn();
    let p = configured(&new).await;
    let image = new.image("busybox", "1", &[]).unwrap();
    let host = create(
        &p,
        "vsn_host",
        obj(&[
            ("name", Value::string(new.name("host"))),
            ("image", Value::string(image.clone())),
            ("command", strings(&IDLE)),
        ]),
        "h",
    )
    .await;
    let src = old.data_root.join("olddb");
    Pair { old, new, p, host_id: host.get("id").unwrap().clone(), image, src }
}

impl Pair {
    fn volume(&self) -> Value {
        let Value::Map(mut from) = self.old.provider_config().unwrap() else { unreachable!() };
        from.insert("volume".into(), Value::string("olddb"));
        obj(&[
            ("name", Value::string(self.new.name("db"))),
            ("host_id", self.host_id.clone()),
            ("image", Value::string(self.image.clone())),
            ("migrate_from", Value::Map(from)),
        ])
    }
    fn target(&self) -> PathBuf {
        self.new.data_root.join(self.new.name("db"))
    }
    fn staging(&self) -> PathBuf {
        self.new.data_root.join(format!(".tarn-incoming-{}", self.new.name("db")))
    }
    async fn try_create(&self) -> Result<Value, String> {
        let planned = self
            .p
            .plan(PlanRequest { type_name: "vsn_volume".into(), prior: None, proposed: self.volume() })
            .await
            .map_err(|e| e.message)?
            .planned;
        self.p
            .create(CreateRequest { type_name: "vsn_volume".into(), planned, correlation: "m".into() })
            .await
            .map_err(|e| e.message)
    }
}

#[tokio::test]
async fn a_new_volume_gets_the_old_vsns_data_copied_verified_and_left_in_place() {
    let pair = pair().await;
    fill(&pair.src);
    let before = walk(&pair.src);
    let state = pair.try_create().await.unwrap_or_else(|e| panic!("create: {e}"));
    let copy = walk(&pair.target());
    assert_eq!(copy, before, "the copy differs from the source (checked in the test)");
    assert_eq!(copy["empty"], "dir 755");
    assert_eq!(copy["secret.key"].split(' ').nth(1), Some("600"), "file modes are kept");
    assert_eq!(copy[""], "dir 711");
    assert_eq!(copy["link-to-leaf"], "link -> nested/deeper/deepest/leaf.txt");
    assert_eq!(walk(&pair.src), before, "the source was changed");
    assert!(!pair.staging().exists(), "the staging directory was left behind");
    // The volume container started on the copy.
    let db = pair.new.name("db");
    assert_eq!(pair.new.podman(&["exec", &db, "cat", "/data/name with spaces.txt"]).unwrap(), "spaced");
    assert_eq!(state.get("data_dir").and_then(Value::as_str), pair.target().to_str());
    assert_eq!(
        read(&pair.p, "vsn_volume", &state).await.as_ref(),
        Some(&state),
        "drift right after a migrating create"
    );
}

#[tokio::test]
async fn an_existing_equal_target_is_used_and_a_different_one_is_refused_untouched() {
    let pair = pair().await;
    fill(&pair.src);
    // As after a crash between the copy and the container's create.
    let status = std::process::Command::new("cp").arg("-a").arg(&pair.src).arg(pair.target()).status().unwrap();
    assert!(status.success());
    pair.try_create().await.unwrap_or_else(|e| panic!("an equal target must be used: {e}"));
    assert_eq!(walk(&pair.target()), walk(&pair.src));
    delete(&pair.p, "vsn_volume", &Value::map([("name", Value::string(pair.new.name("db")))])).await;

    std::fs::write(pair.target().join("binary.bin"), "changed on the new VSN").unwrap();
    let before = walk(&pair.target());
    let err = pair.try_create().await.expect_err("a different target must be refused");
    for needle in [
        pair.target().to_str().unwrap(),
        pair.src.to_str().unwrap(),
        "binary.bin",
        "already exists and differs",
        "move",
    ] {
        assert!(err.contains(needle), "{needle:?} missing in: {err}");
    }
    assert_eq!(walk(&pair.target()), before, "a refused target was altered");
    assert!(pair.new.containers().iter().all(|c| !c.ends_with("-db")), "a container was created over refused data");
}

#[tokio::test]
async fn a_leftover_staging_directory_is_discarded_and_the_copy_redone() {
    let pair = pair().await;
    fill(&pair.src);
    std::fs::create_dir_all(pair.staging().join("nested")).unwrap();
    std::fs::write(pair.staging().join("half-copied"), "interrupted").unwrap();
    pair.try_create().await.unwrap_or_else(|e| panic!("create: {e}"));
    assert_eq!(walk(&pair.target()), walk(&pair.src));
    assert!(!pair.target().join("half-copied").exists());
    assert!(!pair.staging().exists());
}

#[tokio::test]
async fn a_missing_source_is_refused_with_or_without_a_target() {
    let pair = pair().await;
    let err = pair.try_create().await.expect_err("no source data");
    assert!(err.contains("does not exist") && err.contains(pair.src.to_str().unwrap()), "{err}");
    assert!(!pair.target().exists(), "a target directory was created for missing data");
    assert!(pair.new.containers().iter().all(|c| !c.ends_with("-db")));
    std::fs::create_dir_all(pair.target()).unwrap();
    std::fs::write(pair.target().join("kept"), "x").unwrap();
    let err = pair.try_create().await.expect_err("a target without its source cannot be checked");
    assert!(err.contains("cannot be checked") && err.contains("Remove \"migrate_from\""), "{err}");
    assert_eq!(std::fs::read_to_string(pair.target().join("kept")).unwrap(), "x");
}

#[tokio::test]
async fn a_bad_source_is_refused_at_plan_time_with_every_problem_and_no_key_material() {
    let pair = pair().await;
    let Value::Map(mut config) = pair.volume() else { unreachable!() };
    let from =
        obj(&[("host", Value::string("")), ("port", Value::number(70000.0)), ("data_root", Value::string("relative"))]);
    config.insert("migrate_from".into(), from);
    config
        .insert("migrate_from_private_key".into(), Value::string("-----BEGIN OPENSSH PRIVATE KEY----- not-a-real-key"));
    config.insert("private_key_file".into(), Value::Null);
    let err = pair
        .p
        .plan(PlanRequest { type_name: "vsn_volume".into(), prior: None, proposed: Value::Map(config) })
        .await
        .expect_err("an invalid source must fail the plan");
    for needle in ["migrate_from", "\"host\" is required", "\"port\"", "host key", "\"data_root\""] {
        assert!(err.message.contains(needle), "{needle:?} missing in: {}", err.message);
    }
    assert!(!err.message.contains("not-a-real-key"), "key material in a message: {}", err.message);
    // A reachable source failing validation is named as the migrate_from VSN, before any change.
    let Value::Map(mut config) = pair.volume() else { unreachable!() };
    let Some(Value::Map(from)) = config.get_mut("migrate_from") else { unreachable!() };
    from.insert("engine".into(), Value::string("no-such-engine"));
    let planned = pair
        .p
        .plan(PlanRequest { type_name: "vsn_volume".into(), prior: None, proposed: Value::Map(config) })
        .await
        .unwrap()
        .planned;
    let err = pair
        .p
        .create(CreateRequest { type_name: "vsn_volume".into(), planned, correlation: "x".into() })
        .await
        .expect_err("invalid source VSN");
    assert!(err.message.contains("source VSN") && err.message.contains("no-such-engine"), "{}", err.message);
    assert!(!pair.target().exists() && !pair.staging().exists());
}
