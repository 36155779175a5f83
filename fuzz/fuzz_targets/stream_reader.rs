//! Fuzz target `stream_reader`: the harness is `h4mk_fuzz::stream_reader` (fuzz/src/lib.rs).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| h4mk_fuzz::stream_reader(data));
