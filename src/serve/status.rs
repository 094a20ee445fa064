//! Which answer a failed run gets. The contract's codes follow the original server: 401 when
//! OpenNebula does not know the credentials, 403 when it refuses them something (a VM
//! template of another user), 422 for a flavour no service template answers to, 423 when a
//! function is not RUNNING (or another request is changing the runtime), 504 for the
//! time-out, 500 for the rest (a service that ends in FAILED_DEPLOYING included).
//!
//! A run reports a provider's failure as its message (the executor keeps no more of it), so
//! the classification reads the message OpenNebula and the provider word: oned's
//! "Not authorized to perform", "User couldn't be authenticated", OneFlow's 401, the
//! provider's "unknown flavour", "(timeout)" and "not RUNNING: it cannot be resized now".

use axum::http::StatusCode;

/// The status of a failure described by `text`, or `otherwise`.
pub fn classify(text: &str, otherwise: StatusCode) -> StatusCode {
    let t = text.to_ascii_lowercase();
    if t.contains("not authorized to perform") {
        StatusCode::FORBIDDEN
    } else if t.contains("couldn't be authenticated")
        || t.contains("http 401")
        || t.contains("401 unauthorized")
        || t.contains("authentication")
        || t.contains("(401)")
    {
        StatusCode::UNAUTHORIZED
    } else if t.contains("unknown flavour") {
        StatusCode::UNPROCESSABLE_ENTITY
    } else if t.contains("it cannot be resized now") {
        StatusCode::LOCKED
    } else if t.contains("(timeout)") {
        StatusCode::GATEWAY_TIMEOUT
    } else {
        otherwise
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opennebula_and_provider_messages_map_to_the_contract_codes() {
        let cases = [
            ("[one.template.info] User [2] : Not authorized to perform USE TEMPLATE [2].", StatusCode::FORBIDDEN),
            ("[one.documentpool.info] User couldn't be authenticated, aborting call.", StatusCode::UNAUTHORIZED),
            ("GET /service_template: HTTP 401: Invalid credentials", StatusCode::UNAUTHORIZED),
            ("unknown flavour \"nope\": no service template named", StatusCode::UNPROCESSABLE_ENTITY),
            ("the FAAS VM 3 is UPDATING (HOTPLUG), not RUNNING: it cannot be resized now", StatusCode::LOCKED),
            ("service 4 was not RUNNING with its VMs ACTIVE/RUNNING after 30s (timeout)", StatusCode::GATEWAY_TIMEOUT),
            ("service 4 ended in FAILED_DEPLOYING: image not found", StatusCode::INTERNAL_SERVER_ERROR),
        ];
        for (text, want) in cases {
            assert_eq!(classify(text, StatusCode::INTERNAL_SERVER_ERROR), want, "{text}");
        }
    }
}
