//! The manifest of a data directory: every entry's relative path with its type, mode and owner,
//! every regular file's SHA-256 and every symlink's target, sorted by path bytes (the order of
//! `LC_ALL=C sort`). Two directories hold the same data exactly when their manifests are equal.
//!
//! Owns the script that lists a directory on a VSN (GNU find and `sha256sum -z`, NUL-separated so
//! any file name survives), its parsing, and the first difference between two manifests. It must
//! not change anything on the VSN: the script only reads.

use std::collections::BTreeMap;

use tarn_sdk::ProviderError;

use crate::node::{Node, sh_quote};

/// Separates find's listing from sha256sum's in the script's output.
const HASHES: &str = "--tarn-sha256--";

/// Path (relative, `./...`) to its description, e.g. `f 644 0:0 sha256=...`, `l 777 0:0 -> target`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifest {
    pub entries: BTreeMap<Vec<u8>, String>,
}

/// The script printing `dir`'s manifest (exit 3 when `dir` is not a directory).
pub fn script(dir: &str) -> String {
    let q = sh_quote(dir);
    format!(
        "(set -o pipefail) 2>/dev/null && set -o pipefail; [ -d {q} ] || exit 3; cd -- {q} || exit 3\n\
         LC_ALL=C find . -printf '%p\\t%y %m %U:%G\\0' -type l -printf '%p\\t-> %l\\0' || exit 4\n\
         printf '%s\\0' '{HASHES}'\n\
         LC_ALL=C find . -type f -print0 | LC_ALL=C xargs -0 -r sha256sum -z -- || exit 4\n"
    )
}

/// Parses the script's output. Entries of one path are joined in order.
pub fn parse(out: &str) -> Result<Manifest, String> {
    let mut entries: BTreeMap<Vec<u8>, String> = BTreeMap::new();
    let mut hashes = false;
    for record in out.split('\0').filter(|r| !r.is_empty()) {
        if record == HASHES {
            hashes = true;
            continue;
        }
        let (path, what) = if hashes {
            // sha256sum -z: "<64 hex>  <path>" (two spaces; names are not escaped under -z).
            let (hash, path) =
                record.split_once("  ").ok_or_else(|| format!("unexpected sha256sum output {record:?}"))?;
            (path, format!("sha256={hash}"))
        } else {
            let (path, what) = record.split_once('\t').ok_or_else(|| format!("unexpected find output {record:?}"))?;
            (path, what.to_string())
        };
        let entry = entries.entry(path.as_bytes().to_vec()).or_default();
        if !entry.is_empty() {
            entry.push(' ');
        }
        entry.push_str(&what);
    }
    if !hashes {
        return Err("the manifest script ended before listing the checksums".to_string());
    }
    Ok(Manifest { entries })
}

impl Manifest {
    /// The first entry (in path order) where `self` and `other` differ, described for a message.
    pub fn first_difference(&self, other: &Manifest, self_name: &str, other_name: &str) -> Option<String> {
        let mut a = self.entries.iter().peekable();
        let mut b = other.entries.iter().peekable();
        loop {
            match (a.peek(), b.peek()) {
                (None, None) => return None,
                (Some((pa, ea)), Some((pb, eb))) if pa == pb => {
                    if ea != eb {
                        return Some(format!(
                            "{}: {self_name} has \"{ea}\", {other_name} has \"{eb}\"",
                            String::from_utf8_lossy(pa)
                        ));
                    }
                    a.next();
                    b.next();
                }
                (Some((pa, _)), Some((pb, _))) if pa < pb => {
                    return Some(format!("{}: only {self_name} has it", String::from_utf8_lossy(pa)));
                }
                (Some((pa, _)), None) => {
                    return Some(format!("{}: only {self_name} has it", String::from_utf8_lossy(pa)));
                }
                (_, Some((pb, _))) => {
                    return Some(format!("{}: only {other_name} has it", String::from_utf8_lossy(pb)));
                }
            }
        }
    }
}

/// Reads `dir`'s manifest on `node`; `None` when `dir` is not a directory.
pub async fn read(node: &Node, dir: &str) -> Result<Option<Manifest>, ProviderError> {
    let out = node.session().await?.exec(node.root_script(&script(dir))).await?;
    match out.status {
        Some(0) => parse(&out.stdout).map(Some).map_err(|e| {
            ProviderError::permanent(format!("listing {dir} on {} for its checksums failed: {e}", node.describe()))
        }),
        Some(3) => Ok(None),
        _ => Err(ProviderError::permanent(format!(
            "listing {dir} on {} for its checksums failed (GNU find, xargs and sha256sum are needed): {}",
            node.describe(),
            out.stderr.trim()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn listing_and_checksums_merge_per_path_in_byte_order() {
        let out = format!(
            ".\td 755 0:0\0./b file\tf 600 0:0\0./a\td 700 0:0\0./a/l\tl 777 0:0\0./a/l\t-> ../b file\0{HASHES}\0{H}  ./b file\0"
        );
        let m = parse(&out).unwrap();
        let keys: Vec<String> = m.entries.keys().map(|k| String::from_utf8_lossy(k).into_owned()).collect();
        assert_eq!(keys, [".", "./a", "./a/l", "./b file"]);
        assert_eq!(m.entries[b"./b file".as_slice()], format!("f 600 0:0 sha256={H}"));
        assert_eq!(m.entries[b"./a/l".as_slice()], "l 777 0:0 -> ../b file");
    }

    #[test]
    fn output_cut_short_is_refused() {
        assert!(parse(".\td 755 0:0\0").is_err());
    }

    #[test]
    fn the_first_difference_names_the_path_and_both_sides() {
        let m = |pairs: &[(&str, &str)]| Manifest {
            entries: pairs.iter().map(|(p, e)| (p.as_bytes().to_vec(), e.to_string())).collect(),
        };
        let a = m(&[(".", "d"), ("./x", "f 644 0:0 sha256=1"), ("./y", "f")]);
        let b = m(&[(".", "d"), ("./x", "f 644 0:0 sha256=2"), ("./y", "f")]);
        assert_eq!(a.first_difference(&a.clone(), "old", "new"), None);
        assert_eq!(
            a.first_difference(&b, "old", "new").unwrap(),
            "./x: old has \"f 644 0:0 sha256=1\", new has \"f 644 0:0 sha256=2\""
        );
        let c = m(&[(".", "d"), ("./x", "f 644 0:0 sha256=1")]);
        assert_eq!(a.first_difference(&c, "old", "new").unwrap(), "./y: only old has it");
        assert_eq!(c.first_difference(&a, "old", "new").unwrap(), "./y: only new has it");
    }
}
