//! The duplicate-address probe: before anything is built, `PAGW_ADDRESS:22` must not answer
//! (Giif's `</dev/tcp/${PAGW_ADDRESS}/22`, its RET_DUPLICATE_IP). The same probe is the zombie
//! guard after an undeploy, and the optional SSH check of a deployed gateway. Connects from
//! where tarn runs, like the original scripts.

use std::time::Duration;

use tarn_sdk::ProviderError;

/// How long a connection attempt may take before the address counts as silent.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Whether something accepts TCP connections on `address:22`.
pub async fn answers(address: &str) -> bool {
    matches!(tokio::time::timeout(PROBE_TIMEOUT, tokio::net::TcpStream::connect((address, 22))).await, Ok(Ok(_)))
}

/// Refuses when `address:22` already answers: another machine uses the slot's address.
pub async fn refuse_duplicate(address: &str, slot_id: i64) -> Result<(), ProviderError> {
    if answers(address).await {
        return Err(ProviderError::conflict(format!(
            "{address}:22 already answers, but PAGW slot {slot_id} is free: another machine uses the address \
             (Giif's duplicate-IP check); nothing was built. Free the address or mark the slot ignored"
        )));
    }
    Ok(())
}

/// The optional SSH check after a deploy: waits until `address:22` answers, within `within`.
pub async fn await_ssh(address: &str, vm_name: &str, within: Duration) -> Result<(), ProviderError> {
    let start = std::time::Instant::now();
    loop {
        if answers(address).await {
            return Ok(());
        }
        if start.elapsed() >= within {
            return Err(ProviderError::permanent(format!(
                "{vm_name} runs, but {address}:22 did not answer within {} s (the SSH check)",
                within.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
