//! The vendor files kept in the repository (`specs/`, and the benchmark scripts in `bench/`) are
//! byte-identical copies of their sources in `../shared`, the design workspace beside a checkout.
//!
//! A clone of the repository alone has no `../shared`: then the comparison is impossible, and the
//! test says so on its output and passes; the copies are what the tests use either way. It must
//! not skip silently, and must not reach anything outside the repository and `../shared`.

use std::path::{Path, PathBuf};

/// Copies outside `specs/`, as (path in the repository, path under `../shared`). Every file in
/// `specs/` except its README and the extracts is a copy of the file of the same name in
/// `../shared/specs`.
const OTHER_COPIES: &[(&str, &str)] =
    &[("bench/terraform-peer.sh", "bench/terraform-peer.sh"), ("bench/gen-null.sh", "bench/gen-null.sh")];

/// An extract made in this repository from a vendor's file (`*.extract.*`), not a copy: its row in
/// specs/README.md names the source; there is nothing in `../shared` to compare it with.
fn is_extract(name: &std::ffi::OsStr) -> bool {
    name.to_string_lossy().contains(".extract.")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every copy, as (path in the repository, path of its source); with `extracts`, the extracts
/// too (their "source" path then names nothing).
fn files(repo: &Path, shared: &Path, extracts: bool) -> Vec<(PathBuf, PathBuf)> {
    let mut copies = Vec::new();
    let specs = repo.join("specs");
    let entries = std::fs::read_dir(&specs).unwrap_or_else(|e| panic!("cannot list {}: {e}", specs.display()));
    for entry in entries {
        let name = entry.expect("a directory entry").file_name();
        if name != "README.md" && (extracts || !is_extract(&name)) {
            copies.push((specs.join(&name), shared.join("specs").join(&name)));
        }
    }
    for (ours, theirs) in OTHER_COPIES {
        copies.push((repo.join(ours), shared.join(theirs)));
    }
    copies.sort();
    copies
}

#[test]
fn every_copy_is_named_in_the_specs_readme() {
    let repo = repo();
    let readme = std::fs::read_to_string(repo.join("specs/README.md")).expect("specs/README.md");
    for (ours, _) in files(&repo, Path::new("../shared"), true) {
        let name = ours.file_name().expect("a file name").to_string_lossy().into_owned();
        assert!(
            readme.contains(&format!("`{name}`")) || readme.contains(&format!("/{name}`")),
            "{name} is not in specs/README.md"
        );
        assert!(ours.is_file(), "{} is missing", ours.display());
    }
}

#[test]
fn the_copies_are_byte_identical_to_their_sources_in_shared() {
    let repo = repo();
    let shared = repo.join("../shared");
    if !shared.is_dir() {
        println!(
            "comparison not possible: {} is not beside the repository (a lone clone); the in-repo copies are used as they are",
            shared.display()
        );
        return;
    }
    let mut compared = 0;
    for (ours, theirs) in files(&repo, &shared, false) {
        let mine = std::fs::read(&ours).unwrap_or_else(|e| panic!("cannot read {}: {e}", ours.display()));
        let source = std::fs::read(&theirs)
            .unwrap_or_else(|e| panic!("{} has no source at {}: {e}", ours.display(), theirs.display()));
        assert!(
            mine == source,
            "{} differs from its source {}: copy the source again (cp {} {})",
            ours.display(),
            theirs.display(),
            theirs.display(),
            ours.display()
        );
        compared += 1;
    }
    assert!(compared > OTHER_COPIES.len(), "only {compared} copies were compared");
    println!("{compared} copies are byte-identical to their sources in {}", shared.display());
}
