//! Terraform's command-line habits. Its single-dash long flags (`-auto-approve`, `-out=p`, `-var 'k=v'`, `-chdir=dir`)
//! read as tarn's `--` forms, so a pipeline's habits carry over. Only names tarn itself knows
//! as long options are rewritten, anywhere in the command tree: `-x` stays a short flag, `-1`
//! stays a value, and an unknown `-foo` reaches clap unchanged to be refused there. Everything
//! after a bare `--` is left alone. Help keeps showing the `--` forms. Terraform commands tarn
//! does differently (`taint`, `untaint`) get a pointer to tarn's way instead of clap's
//! "unrecognized subcommand".

use clap::CommandFactory;
use std::collections::HashSet;
use std::ffi::OsString;

/// `args` (the program name first) with every single-dash long option tarn knows doubled.
pub fn normalise(args: Vec<OsString>) -> Vec<OsString> {
    let known = long_names(&crate::cli::Cli::command());
    let mut out = Vec::with_capacity(args.len());
    let mut rest = false;
    for (i, arg) in args.into_iter().enumerate() {
        if i == 0 || rest {
            out.push(arg);
            continue;
        }
        let Some(text) = arg.to_str() else {
            out.push(arg);
            continue;
        };
        if text == "--" {
            rest = true;
            out.push(arg);
            continue;
        }
        match single_dash_long(text, &known) {
            Some(doubled) => out.push(doubled.into()),
            None => out.push(arg),
        }
    }
    out
}

/// What to say when the command is one of Terraform's that tarn does another way.
pub fn hint(args: &[OsString]) -> Option<String> {
    let mut words = args.iter().skip(1).filter_map(|a| a.to_str());
    let command = loop {
        let word = words.next()?;
        if ["-C", "--chdir", "--workspace", "--log-file", "--input"].contains(&word) {
            words.next();
        } else if !word.starts_with('-') {
            break word;
        }
    };
    match command {
        "taint" => Some(
            "tarn has no `taint`: a replacement is planned, not recorded in the state. Use \
             `tarn plan --replace ADDR` to see it and `tarn apply --replace ADDR` to do it \
             (Terraform 0.15.2 and later recommend the same)."
                .into(),
        ),
        "untaint" => Some(
            "tarn has no `untaint`: nothing is ever marked for replacement in the state; a plan \
             without `--replace` replaces nothing that does not need it."
                .into(),
        ),
        _ => None,
    }
}

/// `-name` or `-name=value` as `--name…` when `name` is a long option tarn knows, or looks
/// like one (lower-case words and dashes): then clap refuses `--nme` and suggests `--name`
/// instead of reading `-n -m -e` and suggesting `-- -n`.
fn single_dash_long(arg: &str, known: &HashSet<String>) -> Option<String> {
    let body = arg.strip_prefix('-').filter(|b| !b.starts_with('-'))?;
    let name = body.split_once('=').map_or(body, |(n, _)| n);
    let looks_long = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    (name.len() > 1 && (known.contains(name) || looks_long)).then(|| format!("-{arg}"))
}

/// Every long option name and alias of `cmd` and its subcommands.
fn long_names(cmd: &clap::Command) -> HashSet<String> {
    let mut names = HashSet::new();
    collect(cmd, &mut names);
    names
}

fn collect(cmd: &clap::Command, names: &mut HashSet<String>) {
    for arg in cmd.get_arguments() {
        if let Some(long) = arg.get_long() {
            names.insert(long.to_string());
        }
        if let Some(aliases) = arg.get_all_aliases() {
            names.extend(aliases.into_iter().map(str::to_string));
        }
    }
    for sub in cmd.get_subcommands() {
        collect(sub, names);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(args: &[&str]) -> Vec<String> {
        let args = std::iter::once("tarn").chain(args.iter().copied()).map(OsString::from).collect();
        normalise(args).into_iter().skip(1).map(|a| a.into_string().unwrap()).collect()
    }

    #[test]
    fn terraform_forms_become_double_dash_and_nothing_else_changes() {
        assert_eq!(norm(&["apply", "-auto-approve"]), ["apply", "--auto-approve"]);
        assert_eq!(
            norm(&["plan", "-out=p", "-var", "k=v", "-var-file=f"]),
            ["plan", "--out=p", "--var", "k=v", "--var-file=f"]
        );
        assert_eq!(norm(&["-chdir=dir", "plan", "-no-color"]), ["--chdir=dir", "plan", "--no-color"]);
        assert_eq!(norm(&["plan", "-C", "dir", "-x"]), ["plan", "-C", "dir", "-x"]);
        assert_eq!(norm(&["plan", "-nosuch", "--out", "p"]), ["plan", "--nosuch", "--out", "p"]);
        assert_eq!(norm(&["plan", "-Cdir", "-1"]), ["plan", "-Cdir", "-1"]);
        assert_eq!(norm(&["plan", "--", "-out"]), ["plan", "--", "-out"]);
        assert_eq!(norm(&["plan", "--var", "n=-1"]), ["plan", "--var", "n=-1"]);
    }

    #[test]
    fn taint_points_at_replace() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(hint(&args(&["tarn", "-C", "taint", "plan"])).is_none(), "-C's value is not the command");
        assert!(hint(&args(&["tarn", "-C", "dir", "taint", "a.b"])).is_some());
        assert!(hint(&args(&["tarn", "taint", "null_resource.a"])).unwrap().contains("--replace"));
        assert!(hint(&args(&["tarn", "plan"])).is_none());
    }
}
