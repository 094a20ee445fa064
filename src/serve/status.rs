//! Which answer a failed run gets: the kind of the provider's error (`tarn_sdk::ErrorKind`,
//! kept by the run with the failure: a plan's or refresh's diagnostic, an apply's failed
//! operation) decides the code, never the wording. The codes follow the contract and the
//! original server: 401 when OpenNebula does not accept the credentials, 403 when it refuses
//! them something (a VM template of another user), 422 for a flavour no service template
//! answers to, 423 when a function is not RUNNING, 500 for a deploy that failed
//! (FAILED_DEPLOYING) and for a failure without a kind, 504 for the time-out.

use axum::http::StatusCode;
use tarn_sdk::ErrorKind;

/// The status of a failure of `kind` (`None`: the provider did not say why).
pub fn status_of(kind: Option<ErrorKind>) -> StatusCode {
    match kind {
        Some(ErrorKind::Unauthenticated) => StatusCode::UNAUTHORIZED,
        Some(ErrorKind::Denied) => StatusCode::FORBIDDEN,
        Some(ErrorKind::Unknown) => StatusCode::UNPROCESSABLE_ENTITY,
        Some(ErrorKind::NotReady) => StatusCode::LOCKED,
        Some(ErrorKind::TimedOut) => StatusCode::GATEWAY_TIMEOUT,
        Some(ErrorKind::Failed) | None => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_the_contract_code() {
        let cases = [
            (Some(ErrorKind::Unauthenticated), StatusCode::UNAUTHORIZED),
            (Some(ErrorKind::Denied), StatusCode::FORBIDDEN),
            (Some(ErrorKind::Unknown), StatusCode::UNPROCESSABLE_ENTITY),
            (Some(ErrorKind::NotReady), StatusCode::LOCKED),
            (Some(ErrorKind::Failed), StatusCode::INTERNAL_SERVER_ERROR),
            (Some(ErrorKind::TimedOut), StatusCode::GATEWAY_TIMEOUT),
            (None, StatusCode::INTERNAL_SERVER_ERROR),
        ];
        for (kind, want) in cases {
            assert_eq!(status_of(kind), want, "{kind:?}");
        }
    }
}
