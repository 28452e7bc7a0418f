//! The Sigma condition parser: error spans inside the text, print then parse is the identity.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        detc_fuzz::checks::condition(text);
    }
});
