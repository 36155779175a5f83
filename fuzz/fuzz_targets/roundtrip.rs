//! Fuzz target `roundtrip`: the harness is `h4mk_fuzz::roundtrip` (fuzz/src/lib.rs).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| h4mk_fuzz::roundtrip(data));
