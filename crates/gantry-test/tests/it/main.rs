//! Integration tests of gantry-test's fixtures against the real programs they start.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod registry;
