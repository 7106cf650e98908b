//! `gantry expr ...`: expressions outside a pipeline.

pub(crate) mod eval;
