//! The GB/byte arithmetic of Scaleway's sizes; the common attribute getters (tarn-sdk's
//! `attrs`) are re-exported for the modules here. No IO.

pub use tarn_sdk::attrs::{attr_bool, attr_num, attr_str, attr_strings, known_str, required_str, string_list};

/// Bytes as the API counts them (10^9 per GB) for a size given in GB.
pub fn gb_to_bytes(gb: f64) -> u64 {
    (gb * 1e9).round() as u64
}

/// GB for a size in bytes, as configurations write it.
pub fn bytes_to_gb(bytes: u64) -> f64 {
    bytes as f64 / 1e9
}
