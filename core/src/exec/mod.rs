//! The executor: runs a Plan's execution graph through providers.
