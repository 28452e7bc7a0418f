//! The Sigma YAML reader, and for rules it reads without errors the same properties as `.det`
//! rules (to_dsl, Sigma writer, values inside query literals).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        detc_fuzz::checks::sigma_file(text);
    }
});
