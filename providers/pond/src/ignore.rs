//! `.pondignore`: which paths of a build a deployment leaves out (and leaves alone on the
//! server).
//!
//! Owns the pattern rules, a small subset of gitignore's, and their rsync form for the server
//! side. One pattern per line; empty lines and `#` comments are skipped. `*` and `?` match within
//! one path segment. A pattern without `/` (a trailing `/` aside) matches a name at any depth; one
//! with a `/` is anchored at the build's root (a leading `/` is optional). A trailing `/`
//! matches directories only. A matched directory is left out whole. No negation (`!`).
//! It must not touch files: callers walk the tree.

/// One parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    segments: Vec<String>,
    anchored: bool,
    dir_only: bool,
}

/// Parses the file's text.
pub fn parse(text: &str) -> Vec<Pattern> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let dir_only = line.ends_with('/');
            let body = line.trim_end_matches('/');
            let anchored = body.contains('/');
            let segments = body.trim_start_matches('/').split('/').map(str::to_string).collect();
            Pattern { segments, anchored, dir_only }
        })
        .collect()
}

fn glob(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&pattern[1..], name) || (!name.is_empty() && glob(pattern, &name[1..])),
        (Some(b'?'), Some(_)) => glob(&pattern[1..], &name[1..]),
        (Some(p), Some(n)) if p == n => glob(&pattern[1..], &name[1..]),
        _ => false,
    }
}

impl Pattern {
    /// Whether the path (relative, `/`-separated) is matched.
    pub fn matches(&self, path: &str, is_dir: bool) -> bool {
        if self.dir_only && !is_dir {
            return false;
        }
        let parts: Vec<&str> = path.split('/').collect();
        if self.anchored {
            parts.len() == self.segments.len()
                && self.segments.iter().zip(&parts).all(|(p, n)| glob(p.as_bytes(), n.as_bytes()))
        } else {
            self.segments.len() == 1 && parts.last().is_some_and(|n| glob(self.segments[0].as_bytes(), n.as_bytes()))
        }
    }

    /// The same pattern as an rsync exclude rule.
    pub fn rsync_rule(&self) -> String {
        let body = self.segments.join("/");
        let lead = if self.anchored { "/" } else { "" };
        let trail = if self.dir_only { "/" } else { "" };
        format!("{lead}{body}{trail}")
    }
}

/// Whether any pattern matches.
pub fn ignored(patterns: &[Pattern], path: &str, is_dir: bool) -> bool {
    patterns.iter().any(|p| p.matches(path, is_dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_at_any_depth_and_paths_from_the_root() {
        let p = parse("# build leftovers\nnode_modules/\n*.log\n/themes/demo/cache\n\n");
        assert!(ignored(&p, "node_modules", true));
        assert!(ignored(&p, "plugins/x/node_modules", true));
        assert!(!ignored(&p, "node_modules", false), "a trailing slash matches directories only");
        assert!(ignored(&p, "storage/logs/app.log", false));
        assert!(ignored(&p, "themes/demo/cache", true));
        assert!(!ignored(&p, "other/themes/demo/cache", true), "a pattern with a slash is anchored");
        assert!(!ignored(&p, "index.php", false));
    }

    #[test]
    fn rsync_rules_keep_anchoring_and_directory_marks() {
        let rules: Vec<String> = parse("node_modules/\n/themes/*/cache\n").iter().map(Pattern::rsync_rule).collect();
        assert_eq!(rules, ["node_modules/", "/themes/*/cache"]);
    }
}
