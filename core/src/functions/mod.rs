//! The standard library of functions callable from expressions.
