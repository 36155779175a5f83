//! Fuzz target `salvage`: the harness is `h4mk_fuzz::salvage` (fuzz/src/lib.rs).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| h4mk_fuzz::salvage(data));
