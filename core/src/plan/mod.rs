//! The planner and the Plan it produces.
