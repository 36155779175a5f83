//! Integration tests of `h4mk-gop`: the reference fixtures and property tests against an oracle.

#![allow(
    clippy::unwrap_used,
    reason = "a test binary: every unwrap is an assertion"
)]

mod fixtures;
mod oracle;
mod props;

// The fixtures' folder and names, one copy shared by every layer's tests.
#[allow(dead_code)]
#[path = "../../../h4mk-format/tests/it/reference_fixtures.rs"]
mod reference_fixtures;
