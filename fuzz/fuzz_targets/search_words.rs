#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| blangkon_catalog::api::fuzzing::search_words(data));
