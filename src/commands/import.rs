//! `tarn import ADDR ID`: a run that records one existing object in the state under an address
//! declared in configuration, without changing the object. The address and ID are checked
//! against the configuration before the run takes the lock (`ImportTarget::check`); the rest —
//! the state does not hold it yet, configuration produces the instance, the provider finds the
//! object, the one-operation plan the executor runs — is the run's (`Run::import`).

use super::workflow::{self, Printer, Setup};
use crate::cli::{ImportArgs, SelectArgs};
use crate::error::CliError;
use crate::stack;
use tarn_core::exec::CancelToken;
use tarn_core::run::{ImportTarget, Run};

const COMMAND: &str = "tarn import";

pub async fn run(args: ImportArgs) -> Result<(), CliError> {
    let target = ImportTarget::parse(&args.address, &args.id)?;
    let config = workflow::load_config()?;
    let target = target.declared_in(&config)?;
    // SIGINT and SIGTERM: a provider call already made finishes; nothing is imported after.
    let cancel = CancelToken::new();
    stack::watch_interrupts(cancel.clone(), "letting the running provider call finish, then stopping")?;
    let mut request = workflow::request(COMMAND, &args.config, &SelectArgs::default(), &args.run)?;
    request.state_key = workflow::state_key()?;
    let settings = workflow::settings(request, &config)?;
    let backend = stack::open_backend_at(&crate::location::locate()?)?;
    let printer = Printer::new(config.clone(), None);
    let setup = Setup::default();
    let result = match Run::open(settings, config, backend, &setup, printer).await {
        Ok(run) => {
            let result = run.import(&target, &cancel).await.map_err(CliError::from);
            // As for apply: a lost lock is what the user must hear about, with the calls it made.
            match run.close().await {
                Some(loss) => Err(stack::lease_lost(&loss)),
                None => result,
            }
        }
        Err(e) => Err(e.into()),
    };
    setup.close().await;
    result?;
    let (address, id) = (target.address(), target.id());
    outln!("{address}: imported from ID {id:?}.");
    outln!(
        "\nImport successful: {address} is now in the state and tarn manages it. The object was not changed; run \
         `tarn plan` to see how it differs from its configuration."
    );
    Ok(())
}
