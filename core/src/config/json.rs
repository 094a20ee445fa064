//! JSON syntax placeholder (replaced below).
use super::model::Body;
use crate::diag::{Diagnostic, FileId};
pub fn parse_file(_text: &str, _file: FileId) -> Result<Body, Diagnostic> { Ok(Body::default()) }
