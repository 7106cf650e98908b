//! `gantry freight ...`: Freight documents outside a cluster.

pub(crate) mod id;
