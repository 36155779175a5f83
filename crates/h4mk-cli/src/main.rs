//! The `h4mk` binary.
fn main() {}
