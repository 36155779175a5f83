//! Integration tests of `h4mk-gop`: the reference fixtures and property tests against an oracle.

#![allow(
    clippy::unwrap_used,
    reason = "a test binary: every unwrap is an assertion"
)]

mod fixtures;
mod oracle;
mod props;
