//! Fuzz target `stream_vs_slice`: the harness is `h4mk_fuzz::stream_vs_slice` (fuzz/src/lib.rs).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| h4mk_fuzz::stream_vs_slice(data));
