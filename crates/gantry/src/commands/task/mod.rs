//! `gantry task ...`: run promotion tasks locally.

pub(crate) mod run;
