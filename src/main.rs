//! The `tarn` binary: the only composition root. Parses the command line, sets up logging,
//! wires concrete providers and the state backend into the engine, renders results and maps
//! every outcome to a documented exit code. The engine itself lives in tarn-core.

/// Writes to `$stream` with `$how` (`write` or `writeln`), dropping what cannot be written.
/// A reader that went away (`tarn plan | head`, a pager quit early, `2>&1 | head`) is its own
/// choice, not tarn's failure, and std's print macros panic on it. The command goes on: an
/// apply must not stop half-way because its reader did.
macro_rules! write_or_drop {
    ($stream:expr, $how:ident, $($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = $how!($stream, $($arg)*);
    }};
}

/// `print!`, `println!`, `eprint!` and `eprintln!` that never panic (see `write_or_drop`).
macro_rules! out { ($($arg:tt)*) => { write_or_drop!(std::io::stdout(), write, $($arg)*) }; }
macro_rules! outln { ($($arg:tt)*) => { write_or_drop!(std::io::stdout(), writeln, $($arg)*) }; }
macro_rules! eout { ($($arg:tt)*) => { write_or_drop!(std::io::stderr(), write, $($arg)*) }; }
macro_rules! eoutln { ($($arg:tt)*) => { write_or_drop!(std::io::stderr(), writeln, $($arg)*) }; }

mod cli;
mod commands;
mod error;
mod location;
mod logging;
mod pipeline;
mod plugins;
mod providers;
mod render;
mod sandbox;
mod serve;
mod stack;
mod terraform_cli;

/// mimalloc: planning thousands of instances is allocation-bound, and glibc's malloc spent
/// about 40% of a 50,000-instance plan in malloc/free (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::io::Write;

fn main() {
    let args = terraform_cli::normalise(std::env::args_os().collect());
    if let Some(hint) = terraform_cli::hint(&args) {
        eoutln!("Error: {hint}");
        std::process::exit(1);
    }
    let parsed = <cli::Cli as clap::CommandFactory>::command()
        .try_get_matches_from(args)
        .and_then(|m| <cli::Cli as clap::FromArgMatches>::from_arg_matches(&m).map(|c| (c, m)));
    let cli = match parsed {
        Ok((mut cli, matches)) => {
            cli.record_var_order(&matches);
            cli
        }
        Err(e) => {
            // A usage error exits 1 like every other error: clap's own 2 would read as
            // "changes present" or "drift found" to a pipeline. --help and --version exit 0.
            let _ = e.print();
            std::process::exit(if e.use_stderr() { 1 } else { 0 });
        }
    };
    if cli.no_color {
        // Every writer (diagnostics, errors, warnings, tracing's stderr layer) already honours
        // NO_COLOR; setting it here makes --no-color reach them all, not only the commands'
        // own output. SAFETY: no other thread exists yet.
        unsafe { std::env::set_var("NO_COLOR", "1") };
    }
    if !cli.input {
        // Read by `pipeline`, like NO_COLOR above. SAFETY: no other thread exists yet.
        unsafe { std::env::set_var(pipeline::INPUT_ENV, "false") };
    }
    if let Some(workspace) = &cli.workspace {
        // `--workspace` and TARN_WORKSPACE are one setting; `stack::workspace` reads it.
        // SAFETY: no other thread exists yet.
        unsafe { std::env::set_var(stack::WORKSPACE_ENV, workspace) };
    }
    // The engine runs on a thread whose stack is sized for its documented depth limits, not
    // on whatever the main thread happens to have (8 MiB, or less under `ulimit -s`).
    let engine =
        std::thread::Builder::new().name("tarn".into()).stack_size(tarn_core::ENGINE_STACK_BYTES).spawn(move || {
            match run(cli) {
                Ok(()) => 0,
                Err(err) => report(&err),
            }
        });
    let code = match engine.map(std::thread::JoinHandle::join) {
        Ok(Ok(code)) => code,
        Ok(Err(_)) => 101,
        Err(e) => {
            eoutln!("error: cannot start tarn's main thread: {e}");
            1
        }
    };
    let _ = std::io::stdout().flush();
    std::process::exit(code);
}

fn run(cli: cli::Cli) -> Result<(), error::CliError> {
    if let Some(dir) = &cli.chdir {
        std::env::set_current_dir(dir)
            .map_err(|e| error::CliError::Failed(format!("cannot change to directory {}: {e}", dir.display())))?;
    }
    let _log = logging::init(cli.log_file.as_deref())?;
    if cli.sandbox {
        sandbox::enable();
    }
    let color = render::Color::detect(cli.no_color);
    commands::run(cli.command, color)
}

/// Prints the error (unless it is only a signal, like "changes present") and returns the
/// exit code.
fn report(err: &error::CliError) -> i32 {
    let color = render::Color::detect(false);
    match err {
        error::CliError::Diagnostics { diags, sources } => {
            eout!("{}", render::diagnostics(diags, sources, color.stderr));
        }
        error::CliError::ChangesPresent => {}
        // Not an error: what the user asked for, said with what finished.
        error::CliError::Interrupted(message) => eoutln!("{message}"),
        other => {
            eoutln!("{}", render::error_line(&other.to_string(), color.stderr));
        }
    }
    err.exit_code()
}
