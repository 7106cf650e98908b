//! Integration tests of the step logic: properties of the editors over generated input.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

mod no_panic;
mod round_trip;
