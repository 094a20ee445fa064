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

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every copy, as (path in the repository, path of its source).
fn copies(repo: &Path, shared: &Path) -> Vec<(PathBuf, PathBuf)> {
    let mut copies = Vec::new();
    let specs = repo.join("specs");
    let entries = std::fs::read_dir(&specs).unwrap_or_else(|e| panic!("cannot list {}: {e}", specs.display()));
    for entry in entries {
        let entry = entry.expect("a directory entry");
        let name = entry.file_name();
        if entry.path().is_dir() {
            // A directory of vendor files (opennebula-xsd/, provisioning-engine/ with its
            // schemas/, etc/ and examples/) is copied whole: each file in it is a copy.
            for file in files_under(&entry.path()) {
                let rel = file.strip_prefix(&specs).expect("under specs/").to_path_buf();
                copies.push((file, shared.join("specs").join(rel)));
            }
        } else if name != "README.md" && !is_extract(Path::new(&name)) {
            copies.push((specs.join(&name), shared.join("specs").join(&name)));
        }
    }
    for (ours, theirs) in OTHER_COPIES {
        copies.push((repo.join(ours), shared.join(theirs)));
    }
    copies.sort();
    copies
}

/// Every file under `dir`, at any depth.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() { out.extend(files_under(&path)) } else { out.push(path) }
    }
    out
}

/// An extract made in this repository from a vendor's own API description (its name says
/// `.extract.`): it has no copy in `../shared`, so it names its source in its own header and
/// in `specs/README.md` instead.
fn is_extract(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n.to_string_lossy().contains(".extract."))
}

#[test]
fn every_extract_names_its_source_in_its_header_and_the_readme() {
    let specs = repo().join("specs");
    let readme = std::fs::read_to_string(specs.join("README.md")).expect("specs/README.md");
    let entries = std::fs::read_dir(&specs).unwrap_or_else(|e| panic!("cannot list {}: {e}", specs.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if !is_extract(&path) {
            continue;
        }
        let name = path.file_name().expect("a file name").to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let header: String = text.lines().take_while(|l| l.starts_with('#')).collect::<Vec<_>>().join("\n");
        assert!(
            header.contains("Source:") && header.contains("commit"),
            "{name} does not name its source in its header"
        );
        assert!(readme.contains(&format!("`{name}`")), "{name} is not in specs/README.md");
    }
}

#[test]
fn every_copy_is_named_in_the_specs_readme() {
    let repo = repo();
    let readme = std::fs::read_to_string(repo.join("specs/README.md")).expect("specs/README.md");
    for (ours, _) in copies(&repo, Path::new("../shared")) {
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
    for (ours, theirs) in copies(&repo, &shared) {
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
