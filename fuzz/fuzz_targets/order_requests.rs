#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| blangkon_order::api::fuzzing::requests(data));
