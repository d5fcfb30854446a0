#![no_main]
// Placeholder until the owning crate lands its target.
libfuzzer_sys::fuzz_target!(|_data: &[u8]| {});
