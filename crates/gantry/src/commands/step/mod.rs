//! `gantry step ...`: run one promotion step locally.

pub(crate) mod run;
