//! `gantry warehouse ...`.

pub(crate) mod discover;
mod registry;
