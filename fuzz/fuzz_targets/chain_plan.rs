//! Fuzz target `chain_plan`: the harness is `h4mk_fuzz::chain_plan` (fuzz/src/lib.rs).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| h4mk_fuzz::chain_plan(data));
