//! The dependency graph of configuration objects.
