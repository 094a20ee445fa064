//! `tarn console`: evaluates expressions against the configuration and the recorded state, for
//! people who debug expressions (as `terraform console`). On a terminal it is interactive, with
//! line editing and a history kept in `.tarn/console_history`; otherwise it reads one
//! expression per line from stdin and prints each result.
//!
//! It reads only: the state is read once, as one snapshot, without taking the lock (as `tarn
//! show` does), no provider is called and nothing is written but the history file. Values are
//! printed in HCL form (a set as `toset([...])`, as Terraform prints it); sensitive values as
//! `(sensitive value)`, unknown ones (an object not applied yet) as `(known after apply)`. An
//! error is printed with the expression's position and the console goes on: only a
//! configuration that does not load ends it (exit 1).

use crate::cli::ConsoleArgs;
use crate::error::CliError;
use crate::render::Color;
use crate::stack;
use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use tarn_core::SourceMap;
use tarn_core::plan::{self, Console};
use tarn_sdk::Value;

/// What the console input is called in diagnostics.
const INPUT_NAME: &str = "<console>";

/// A value wider than this is printed over several lines.
const INLINE_WIDTH: usize = 80;

pub async fn run(args: &ConsoleArgs, color: Color) -> Result<(), CliError> {
    let config = super::workflow::load_config()?;
    let variables = super::workflow::resolve_variables(&config, &args.config)?;
    let workspace = stack::workspace()?;
    // One snapshot read, no lock: a console left open never holds up an apply.
    let snapshot = if stack::state_exists() { Some(stack::open_backend()?.snapshot().await?) } else { None };
    let prior = match &snapshot {
        Some(s) => {
            let (prior, diags) = plan::prior_from_snapshot(s);
            super::workflow::check(diags, &config.sources)?;
            prior
        }
        None => plan::PriorState::default(),
    };
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let console = Console::new(config.clone(), variables, &prior, workspace, cwd, super::workflow::home());
    let session = Session { console: &console, sources: &config.sources, color };
    if std::io::stdin().is_terminal() {
        session.interactive()
    } else {
        session.piped();
        Ok(())
    }
}

struct Session<'a> {
    console: &'a Console,
    sources: &'a SourceMap,
    color: Color,
}

impl Session<'_> {
    /// One expression per line of stdin, each result on stdout, errors on stderr.
    fn piped(&self) {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if !self.line(&line) {
                break;
            }
        }
    }

    fn interactive(&self) -> Result<(), CliError> {
        use rustyline::error::ReadlineError;
        let mut editor = rustyline::DefaultEditor::new()
            .map_err(|e| CliError::Failed(format!("cannot start the line editor: {e}")))?;
        let history = PathBuf::from(stack::STATE_DIR).join("console_history");
        // No history yet is the normal first run.
        let _ = editor.load_history(&history);
        eoutln!("Type an expression to evaluate it, `exit` or Ctrl-D to leave.");
        loop {
            match editor.readline("> ") {
                Ok(line) => {
                    if !line.trim().is_empty() {
                        let _ = editor.add_history_entry(line.as_str());
                    }
                    if !self.line(&line) {
                        break;
                    }
                }
                // Ctrl-C abandons the line being typed, as in a shell.
                Err(ReadlineError::Interrupted) => continue,
                Err(ReadlineError::Eof) => break,
                Err(e) => {
                    eoutln!("cannot read the next line: {e}");
                    break;
                }
            }
        }
        if std::fs::create_dir_all(stack::STATE_DIR).is_ok()
            && let Err(e) = editor.save_history(&history)
        {
            eoutln!("Warning: cannot save the console history to {}: {e}", history.display());
        }
        Ok(())
    }

    /// Evaluates one line and prints its result or its error. `false` ends the console.
    fn line(&self, line: &str) -> bool {
        let text = line.trim_end_matches(['\r', '\n']);
        match text.trim() {
            "" => return true,
            "exit" => return false,
            _ => {}
        }
        let mut sources = self.sources.clone();
        let file = sources.add(PathBuf::from(INPUT_NAME), text.to_string());
        let result = tarn_core::plan::console::parse_expression(text, file)
            .map_err(tarn_core::Diagnostics::from)
            .and_then(|expr| self.console.eval(&expr));
        match result {
            Ok(value) => outln!("{}", hcl_value(&value)),
            Err(diags) => eout!("{}", crate::render::diagnostics(&diags, &sources, self.color.stderr)),
        }
        true
    }
}

/// A value in HCL form, as `terraform console` prints it: inline when it fits, else one
/// element per line.
pub fn hcl_value(v: &Value) -> String {
    let mut inline = String::new();
    write_inline(v, &mut inline);
    if inline.chars().count() <= INLINE_WIDTH && !multiline(v) {
        return inline;
    }
    let mut out = String::new();
    write_block(v, 0, &mut out);
    out
}

/// Whether `v` holds a string of several lines (printed as a heredoc, as Terraform does).
fn multiline(v: &Value) -> bool {
    match v {
        Value::String(s) => s.trim_end_matches('\n').contains('\n'),
        Value::List(l) | Value::Set(l) => l.iter().any(multiline),
        Value::Map(m) => m.values().any(multiline),
        _ => false,
    }
}

fn write_inline(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_text()),
        Value::String(s) => quote(s, out),
        Value::Unknown => out.push_str("(known after apply)"),
        Value::Sensitive(_) => out.push_str("(sensitive value)"),
        Value::List(l) => {
            out.push('[');
            for (i, e) in l.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_inline(e, out);
            }
            out.push(']');
        }
        // A set prints as Terraform's console prints it: `toset([...])`.
        Value::Set(l) => {
            out.push_str("toset(");
            write_inline(&Value::List(l.clone()), out);
            out.push(')');
        }
        Value::Map(m) if m.is_empty() => out.push_str("{}"),
        Value::Map(m) => {
            out.push_str("{ ");
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                key(k, out);
                out.push_str(" = ");
                write_inline(e, out);
            }
            out.push_str(" }");
        }
    }
}

fn write_block(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent + 2);
    let close = " ".repeat(indent);
    match v {
        Value::Map(m) if !m.is_empty() => {
            out.push_str("{\n");
            for (k, e) in m {
                out.push_str(&pad);
                key(k, out);
                out.push_str(" = ");
                write_block(e, indent + 2, out);
                out.push('\n');
            }
            let _ = write!(out, "{close}}}");
        }
        Value::List(l) if !l.is_empty() => {
            out.push_str("[\n");
            for e in l {
                out.push_str(&pad);
                write_block(e, indent + 2, out);
                out.push_str(",\n");
            }
            let _ = write!(out, "{close}]");
        }
        Value::Set(l) if !l.is_empty() => {
            out.push_str("toset(");
            write_block(&Value::List(l.clone()), indent, out);
            out.push(')');
        }
        Value::String(s) if s.trim_end_matches('\n').contains('\n') => {
            out.push_str("<<EOT\n");
            for l in s.lines() {
                let _ = writeln!(out, "{l}");
            }
            out.push_str("EOT");
        }
        other => write_inline(other, out),
    }
}

/// A map key: bare when it is an identifier, quoted otherwise.
fn key(k: &str, out: &mut String) {
    let ident = k.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    if ident { out.push_str(k) } else { quote(k, out) }
}

/// A string literal with HCL escapes (`"`, `\`, newlines, tabs; `${` and `%{` doubled).
fn quote(s: &str, out: &mut String) {
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
