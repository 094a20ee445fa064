//! Opening a run: take the lock, read the state, set the providers up, resolve what an
//! interrupted run left open (crash recovery), and read the state again; or, where no state
//! exists yet, plan against an empty one without creating it. Closing releases the lock and
//! says whether the run lost it on the way.

use super::error::{RunError, errors_or_warnings};
use super::events::{Forward, Observer, RunEvent};
use super::lease::Lease;
use super::settings::Settings;
use super::{Held, Run};
use crate::config::Config;
use crate::diag::Diagnostics;
use crate::exec::{self, RecoverContext, Resolution};
use crate::plan::{self, ProviderFactory, ProviderSet, RootVariables, SetupContext};
use std::sync::Arc;
use tarn_state::{Backend, LeaseLoss, Snapshot};

/// Where a run's providers come from: the caller's composition of built-in providers,
/// plugins and emulators. Core never names a concrete provider.
#[async_trait::async_trait]
pub trait ProviderSetup: Send + Sync {
    /// The providers `config` and the state in `snapshot` use, configured, with warnings.
    /// `at` says where provider blocks are evaluated (workspace, `path.cwd`, the user's home)
    /// and the run's limit on one provider call, `configure` included.
    async fn setup(
        &self,
        config: &Config,
        snapshot: &Snapshot,
        variables: &RootVariables,
        at: &SetupContext<'_>,
    ) -> Result<(ProviderSet, Diagnostics), RunError>;
}

/// A [`ProviderSetup`] over one [`ProviderFactory`] (tests, and servers with a fixed set).
pub struct FromFactory<F>(pub F);

#[async_trait::async_trait]
impl<F: ProviderFactory> ProviderSetup for FromFactory<F> {
    async fn setup(
        &self,
        config: &Config,
        snapshot: &Snapshot,
        variables: &RootVariables,
        at: &SetupContext<'_>,
    ) -> Result<(ProviderSet, Diagnostics), RunError> {
        let (providers, diags) = plan::setup_providers(config, Some(snapshot), variables, &self.0, at).await;
        Ok((providers, errors_or_warnings(diags, &config.sources)?))
    }
}

impl Run {
    /// Takes the lock on `backend`, sets up providers and recovers interrupted runs. The lock
    /// is released again when this fails.
    pub async fn open(
        settings: Settings,
        config: Arc<Config>,
        backend: Arc<dyn Backend>,
        setup: &dyn ProviderSetup,
        observer: Arc<dyn Observer>,
    ) -> Result<Run, RunError> {
        let lease = Lease::acquire(backend.clone(), settings.holder.clone(), settings.lock).await?;
        let snapshot = match backend.snapshot().await {
            Ok(s) => s,
            Err(e) => {
                lease.release().await;
                return Err(e.into());
            }
        };
        let providers = match setup_providers(&settings, &config, &snapshot, setup, &observer).await {
            Ok(p) => p,
            Err(e) => {
                lease.release().await;
                return Err(e);
            }
        };
        let mut run = Run { settings, config, providers, snapshot, state: Some(Held { backend, lease }), observer };
        if let Err(e) = run.recover().await {
            run.close().await;
            return Err(e);
        }
        Ok(run)
    }

    /// A run where no state exists yet: it plans against an empty state, with nothing to lock
    /// or recover, and creates none (a plan changes nothing, not even the disk). Its lineage is
    /// new: a plan saved from it applies to a state that is still empty.
    pub async fn without_state(
        settings: Settings,
        config: Arc<Config>,
        setup: &dyn ProviderSetup,
        observer: Arc<dyn Observer>,
    ) -> Result<Run, RunError> {
        let snapshot = Snapshot {
            lineage: uuid::Uuid::new_v4().to_string(),
            serial: 0,
            resources: Vec::new(),
            outputs: Vec::new(),
        };
        let providers = setup_providers(&settings, &config, &snapshot, setup, &observer).await?;
        Ok(Run { settings, config, providers, snapshot, state: None, observer })
    }

    /// Adopts or forgets what an interrupted run left (journal intents without outcome).
    async fn recover(&mut self) -> Result<(), RunError> {
        let backend = self.held()?.backend.clone();
        if backend.open_intents().await?.is_empty() {
            return Ok(());
        }
        let ctx = RecoverContext {
            providers: self.providers.to_map(),
            backend: backend.clone(),
            schemas: self.providers.schemas().clone(),
            events: Arc::new(Forward { observer: self.observer.clone(), wrap: RunEvent::Recovery }),
            deadlines: self.settings.deadlines,
        };
        let recovered =
            exec::recover(ctx).await.map_err(|e| RunError::Failed(format!("recovering an interrupted run: {e}")))?;
        for r in &recovered {
            if let Resolution::Unresolved { reason } = &r.resolution {
                return Err(RunError::Failed(format!(
                    "an interrupted run left {} ({}) in an unknown state and it cannot be checked now: {reason}. \
                     Fix the cause and run tarn again; nothing was changed.",
                    r.address, r.op
                )));
            }
        }
        self.snapshot = backend.snapshot().await?;
        Ok(())
    }

    /// Releases the lock. Returns how the run lost it, when it did (then the lock is the new
    /// holder's and stays): the caller must report that above any other result.
    pub async fn close(self) -> Option<LeaseLoss> {
        let held = self.state?;
        let loss = held.backend.lease_loss();
        held.lease.release().await;
        loss
    }

    pub(crate) fn held(&self) -> Result<&Held, RunError> {
        self.state.as_ref().ok_or_else(|| {
            RunError::Failed("this run has no state to write (it was opened without one); this is a bug in tarn".into())
        })
    }
}

async fn setup_providers(
    settings: &Settings,
    config: &Config,
    snapshot: &Snapshot,
    setup: &dyn ProviderSetup,
    observer: &Arc<dyn Observer>,
) -> Result<ProviderSet, RunError> {
    let (providers, warnings) = setup.setup(config, snapshot, &settings.variables, &settings.setup_context()).await?;
    if !warnings.is_empty() {
        observer.event(RunEvent::Warnings(warnings));
    }
    Ok(providers.with_deadlines(settings.deadlines))
}
