//! Fuzz target `wav`: the harness is `h4mk_fuzz::checks_wav::wav` (fuzz/src/checks_wav.rs).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| h4mk_fuzz::wav(data));
