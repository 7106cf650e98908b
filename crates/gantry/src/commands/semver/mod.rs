//! `gantry semver ...`: semantic versions and constraints as Kargo reads them.

pub(crate) mod check;
pub(crate) mod parse;
