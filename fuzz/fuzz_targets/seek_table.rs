//! Fuzz target `seek_table`: the harness is `h4mk_fuzz::seek_table` (fuzz/src/lib.rs).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| h4mk_fuzz::seek_table(data));
