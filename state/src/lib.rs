//! tarn-state: state backends.
