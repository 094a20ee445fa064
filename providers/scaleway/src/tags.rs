//! Tags as Scaleway objects carry them: the user's own, and tarn's correlation tag
//! (`tarn-correlation:<tag>`), which `adopt` finds an object by after a crash and which never
//! shows in the user's `tags`. Shared by every resource with tags. No IO.

use serde_json::Value as Json;
use tarn_sdk::Value;

use crate::server::CORRELATION_TAG;
use crate::values::string_list;

/// Every tag an API object carries.
fn of(object: &Json) -> Vec<String> {
    object
        .get("tags")
        .and_then(Json::as_array)
        .map(|l| l.iter().filter_map(|t| t.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn is_correlation(tag: &str) -> bool {
    tag.strip_prefix(CORRELATION_TAG).is_some_and(|rest| rest.starts_with(':'))
}

/// tarn's correlation tags on an API object, to keep when the user's tags are rewritten.
pub fn correlation_tags(object: &Json) -> Vec<String> {
    of(object).into_iter().filter(|t| is_correlation(t)).collect()
}

/// The user's tags of an API object as a tarn value: null when it has none and the
/// configuration sets none, so an unset `tags` does not read back as `[]`.
pub fn user_tags(object: &Json, wanted: &Value) -> Value {
    let tags: Vec<String> = of(object).into_iter().filter(|t| !is_correlation(t)).collect();
    if tags.is_empty() && wanted.get("tags").is_none_or(Value::is_null) { Value::Null } else { string_list(&tags) }
}
