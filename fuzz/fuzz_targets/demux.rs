//! Fuzz target `demux`: the harness is `h4mk_fuzz::demux` (fuzz/src/lib.rs).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| h4mk_fuzz::demux(data));
