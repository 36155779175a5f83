//! Fuzz target `mux_roundtrip`: the harness is `h4mk_fuzz::mux_roundtrip` (fuzz/src/lib.rs).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| h4mk_fuzz::mux_roundtrip(data));
