//! Classified provider errors: the class tells the executor's policy what to do (retry a
//! transient failure, record a partially created object, roll back on a permanent one); the
//! optional kind tells a caller why, in terms it can act on (an API served by tarn answers
//! with its own codes from it, never from the wording). The message is the vendor's own
//! words; it must never contain a secret.

use crate::value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Worth retrying with backoff: network errors, 5xx, rate limits.
    Transient,
    /// The object changed underneath us, or a name is taken.
    Conflict,
    /// The object does not exist.
    NotFound,
    /// Will not succeed on retry: bad input, forbidden, quota.
    Permanent,
    /// The object was created but could not be finished; `ProviderError::partial` holds it.
    PartiallyCreated,
}

/// Why an operation failed, when the provider knows: independent of the class (a denial and
/// an unknown name are both permanent) and of the message's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The remote side does not accept the credentials.
    Unauthenticated,
    /// The credentials are accepted, but the remote side refuses this user the operation.
    Denied,
    /// An argument names something that does not exist or cannot be used (a flavour no
    /// template answers to).
    Unknown,
    /// The object is in a state that does not allow the operation now (a VM being deployed);
    /// the same request may succeed later.
    NotReady,
    /// The remote operation ran and ended in failure (a deploy that failed).
    Failed,
    /// The remote side did not finish within the time allowed.
    TimedOut,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    pub class: ErrorClass,
    pub message: String,
    /// For `PartiallyCreated`: the state of the object that exists and must be recorded.
    pub partial: Option<Value>,
    /// Why, when the provider knows.
    pub kind: Option<ErrorKind>,
}

/// A read's answer with "not found" as `None`: an object that is gone is an answer, not an
/// error. Every other error passes through.
pub fn found<T>(answer: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
    match answer {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.class == ErrorClass::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl ProviderError {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        ProviderError { class, message: message.into(), partial: None, kind: None }
    }
    /// The same error, saying why.
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = Some(kind);
        self
    }
    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Transient, message)
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Permanent, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::NotFound, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Conflict, message)
    }
    pub fn partially_created(message: impl Into<String>, state: Value) -> Self {
        ProviderError { class: ErrorClass::PartiallyCreated, message: message.into(), partial: Some(state), kind: None }
    }
}
