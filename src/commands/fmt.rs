//! `tarn fmt [--check] [PATHS]`: canonical formatting of `*.tarn.hcl` files. Writes only
//! files whose text changes, atomically (temp file + rename), so an interrupted run never
//! leaves half a file.

use crate::cli::FmtArgs;
use crate::error::CliError;
use std::path::{Path, PathBuf};
use tarn_core::{Diagnostics, SourceMap};

pub fn run(args: &FmtArgs) -> Result<(), CliError> {
    let roots = if args.paths.is_empty() { vec![PathBuf::from(".")] } else { args.paths.clone() };
    let mut files = Vec::new();
    for root in &roots {
        collect(root, &mut files)?;
    }
    let mut unformatted = Vec::new();
    let mut diags = Diagnostics::default();
    let mut sources = SourceMap::default();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| CliError::Failed(format!("cannot read {}: {e}", file.display())))?;
        match tarn_core::config::format_hcl(&text) {
            Ok(formatted) if formatted != text => {
                unformatted.push(file.clone());
                if !args.check {
                    write_atomic(&file, &formatted)?;
                }
            }
            Ok(_) => {}
            Err(mut d) => {
                let id = sources.add(file.clone(), text);
                if let Some(span) = d.span.as_mut() {
                    span.file = id;
                }
                diags.push(d);
            }
        }
    }
    if diags.has_errors() {
        return Err(CliError::Diagnostics { diags, sources: Box::new(sources) });
    }
    for f in &unformatted {
        outln!("{}", f.display());
    }
    if args.check && !unformatted.is_empty() {
        return Err(CliError::Failed(format!(
            "{} file(s) are not in canonical format; run `tarn fmt` to fix them",
            unformatted.len()
        )));
    }
    Ok(())
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), CliError> {
    let meta = std::fs::metadata(path).map_err(|e| CliError::Failed(format!("cannot read {}: {e}", path.display())))?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(path)?.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_dir() {
            if !name.starts_with('.') {
                collect(&p, out)?;
            }
        } else if name.ends_with(".tarn.hcl") {
            out.push(p);
        }
    }
    Ok(())
}

fn write_atomic(path: &Path, text: &str) -> Result<(), CliError> {
    let tmp = path.with_extension("hcl.tarn-fmt-tmp");
    std::fs::write(&tmp, text).and_then(|_| std::fs::rename(&tmp, path)).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        CliError::Failed(format!("cannot write {}: {e}", path.display()))
    })
}
