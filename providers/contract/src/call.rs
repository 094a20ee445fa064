//! The context of the provider call in progress: the secrets of its values.
//!
//! The engine unmarks values before a provider sees them (providers work on plain values), so a
//! provider cannot tell which of the strings it sends came from a sensitive variable. The engine
//! therefore runs each provider call inside [`with_secrets`], a task-local scope holding every
//! string and number that was under a sensitive mark in the call's values; the toolkit's logging
//! (the HTTP client's trace lines and error messages) reads it through [`current_secrets`] and
//! masks them, whether or not the provider asked for it with `Client::redacting`.
//!
//! Work a provider moves to another task with `tokio::spawn` leaves the scope; such a provider
//! passes its secrets on explicitly (`Client::redacting`). Must not decide anything: it only
//! tells what to hide.

use std::future::Future;

use tokio::task::futures::TaskLocalFuture;

use crate::secrets::Secrets;
use crate::value::Value;

tokio::task_local! {
    static SECRETS: Secrets;
}

/// `fut`, run with the secrets of `values` (every string and number under a sensitive mark) as
/// the current call's. The secrets are collected now, so the values need not outlive the call.
/// Nested scopes see only the innermost set.
pub fn with_secrets<'v, F: Future>(values: impl IntoIterator<Item = &'v Value>, fut: F) -> TaskLocalFuture<Secrets, F> {
    SECRETS.scope(Secrets::of(values), fut)
}

/// The secrets of the provider call this task is serving; empty outside any call.
pub fn current_secrets() -> Secrets {
    SECRETS.try_with(Secrets::clone).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_call_sees_its_own_secrets_and_nothing_outside_a_call() {
        assert!(current_secrets().is_empty());
        let planned = Value::map([("content", Value::string("hunter2").sensitive()), ("name", Value::string("www"))]);
        let seen =
            with_secrets([&planned], async { current_secrets().scrub("name www, content hunter2").into_owned() }).await;
        assert!(!seen.contains("hunter2"), "{seen}");
        assert!(seen.contains("www"), "{seen}");
        assert!(current_secrets().is_empty());
    }
}
