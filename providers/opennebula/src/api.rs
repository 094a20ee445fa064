//! The two OpenNebula endpoints a provider call uses, built from the settings: oned's XML-RPC
//! (`oned`) and OneFlow (`oneflow`), sharing the credentials, plus the waits every operation
//! needs (a service reaching a state or disappearing, a VM settling after a resize), bounded by
//! the configured time-out.
//!
//! Knows OpenNebula's states, not tarn's attributes.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value as Json;
use tarn_sdk::http::{Client, Secrets};
use tarn_sdk::{ErrorKind, ProviderError};

use crate::config::Settings;
use crate::model::Vm;
use crate::oned::Oned;
use crate::oneflow::{self, OneFlow, basic_auth};

/// A configured pair of clients. Clones share connections.
#[derive(Debug, Clone)]
pub struct Api {
    pub oned: Oned,
    pub flow: OneFlow,
    pub settings: Arc<Settings>,
}

fn with_slash(url: &str) -> String {
    if url.ends_with('/') { url.to_string() } else { format!("{url}/") }
}

impl Api {
    pub fn new(settings: Settings) -> Result<Api, ProviderError> {
        let oned = Client::builder(settings.xmlrpc.trim_end_matches('/')).build()?;
        let flow = Client::builder(with_slash(&settings.oneflow))
            .secret_header("authorization", &basic_auth(&settings.username, &settings.password))
            .header("accept", "application/json")
            .build()?;
        Ok(Api::with_clients(oned, flow, settings))
    }

    /// Over clients built elsewhere (tests tune their retries). Whatever they log is masked of
    /// the password and of the SR_AUTH value made from it (service documents carry it back).
    pub fn with_clients(oned: Client, flow: Client, settings: Settings) -> Api {
        let secrets = Self::own_secrets(&settings);
        Api {
            oned: Oned::new(oned.redacting(secrets.clone()), &settings.xmlrpc, &settings.username, &settings.password),
            flow: OneFlow::new(flow.redacting(secrets)),
            settings: Arc::new(settings),
        }
    }

    fn own_secrets(settings: &Settings) -> Secrets {
        let auth = format!("{}:{}", settings.username, settings.password);
        let sr_auth = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, auth);
        Secrets::from_strings([settings.password.clone(), sr_auth])
    }

    pub fn redacting(&self, secrets: Secrets) -> Api {
        let secrets = secrets.union(&Self::own_secrets(&self.settings));
        Api {
            oned: self.oned.redacting(secrets.clone()),
            flow: self.flow.redacting(secrets),
            settings: self.settings.clone(),
        }
    }

    /// `user:password`, what the original engine hands the VM as `SR_AUTH`.
    pub fn auth(&self) -> String {
        format!("{}:{}", self.settings.username, self.settings.password)
    }

    fn timeout(&self) -> Duration {
        self.settings.timeout
    }

    /// Waits until the service is RUNNING with every role's VMs there and ACTIVE/RUNNING.
    /// Answers the service and its VMs; a FAILED_* state or the time-out is an error.
    pub async fn wait_running(&self, id: u64) -> Result<(Json, Vec<Vm>), ProviderError> {
        let started = tokio::time::Instant::now();
        let mut last = String::from("no answer yet");
        loop {
            let Some(service) = self.flow.service(id).await? else {
                return Err(ProviderError::not_found(format!("service {id} disappeared while it was deploying")));
            };
            let state = oneflow::state(&service);
            let name = oneflow::service_state_name(state);
            if name.starts_with("FAILED") {
                return Err(ProviderError::permanent(format!(
                    "service {id} ended in {name}: {}",
                    oneflow::log_tail(&service)
                ))
                .with_kind(ErrorKind::Failed));
            }
            if name == "RUNNING" {
                let roles = oneflow::roles(&service);
                let mut vms = Vec::new();
                let mut ready = roles.iter().all(|(_, cardinality, ids)| ids.len() as u64 >= *cardinality);
                for (_, _, ids) in &roles {
                    for vm_id in ids {
                        match self.oned.vm(*vm_id).await? {
                            Some(vm) => {
                                ready &= vm.function_state() == "RUNNING";
                                last = format!("VM {} is {}", vm.id, vm.state_text());
                                vms.push(vm);
                            }
                            None => ready = false,
                        }
                    }
                }
                if ready {
                    return Ok((service, vms));
                }
            } else {
                last = format!("service is {name}");
            }
            if started.elapsed() >= self.timeout() {
                return Err(ProviderError::permanent(format!(
                    "service {id} was not RUNNING with its VMs ACTIVE/RUNNING after {}s (timeout); last seen: {last}",
                    self.timeout().as_secs_f64()
                ))
                .with_kind(ErrorKind::TimedOut));
            }
            tokio::time::sleep(self.settings.poll).await;
        }
    }

    /// Undeploys the service and waits until OneFlow no longer knows it. A service that cannot
    /// be undeployed in its state (a failed deploy) is removed with `recover` + `delete`, as the
    /// original engine's `service_destroy` does.
    pub async fn remove_service(&self, id: u64) -> Result<(), ProviderError> {
        match self.flow.delete_service(id).await {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) if e.class == tarn_sdk::ErrorClass::NotFound => return Ok(()),
            Err(e) => {
                tracing::debug!(service = id, error = %e.message, "undeploy refused; forcing the deletion");
                self.flow.recover(id, true).await?;
            }
        }
        let started = tokio::time::Instant::now();
        loop {
            match self.flow.service(id).await? {
                None => return Ok(()),
                Some(s) => {
                    let name = oneflow::service_state_name(oneflow::state(&s));
                    if name.starts_with("FAILED") {
                        self.flow.recover(id, true).await?;
                    }
                    if started.elapsed() >= self.timeout() {
                        return Err(ProviderError::permanent(format!(
                            "service {id} was still {name} {}s after its undeploy began (timeout)",
                            self.timeout().as_secs_f64()
                        ))
                        .with_kind(ErrorKind::TimedOut));
                    }
                }
            }
            tokio::time::sleep(self.settings.poll).await;
        }
    }

    /// Waits until the VM's function state is RUNNING again after a resize.
    pub async fn wait_vm_running(&self, id: u64, what: &str) -> Result<Vm, ProviderError> {
        let started = tokio::time::Instant::now();
        loop {
            let vm = self
                .oned
                .vm(id)
                .await?
                .ok_or_else(|| ProviderError::not_found(format!("VM {id} disappeared during {what}")))?;
            match vm.function_state() {
                "RUNNING" => return Ok(vm),
                "ERROR" => {
                    return Err(ProviderError::permanent(format!(
                        "VM {id} entered {} during {what}: {}",
                        vm.state_text(),
                        vm.error.as_deref().unwrap_or("no error message")
                    ))
                    .with_kind(ErrorKind::Failed));
                }
                _ => {}
            }
            if started.elapsed() >= self.timeout() {
                return Err(ProviderError::permanent(format!(
                    "VM {id} was still {} {}s after {what} (timeout)",
                    vm.state_text(),
                    self.timeout().as_secs_f64()
                ))
                .with_kind(ErrorKind::TimedOut));
            }
            tokio::time::sleep(self.settings.poll).await;
        }
    }
}
