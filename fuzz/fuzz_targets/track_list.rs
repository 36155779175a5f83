//! Fuzz target `track_list`: the harness is `h4mk_fuzz::track_list` (fuzz/src/lib.rs).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| h4mk_fuzz::track_list(data));
