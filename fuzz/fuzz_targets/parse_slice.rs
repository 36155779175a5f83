//! Fuzz target `parse_slice`: the harness is `h4mk_fuzz::parse_slice` (fuzz/src/lib.rs).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| h4mk_fuzz::parse_slice(data));
