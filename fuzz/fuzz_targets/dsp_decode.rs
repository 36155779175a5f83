//! Fuzz target `dsp_decode`: the harness is `h4mk_fuzz::dsp_decode` (fuzz/src/lib.rs).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| h4mk_fuzz::dsp_decode(data));
