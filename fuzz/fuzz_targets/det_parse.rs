//! The `.det` parser, printer (`detc fmt`), lowering, checks, and every target's queries.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        detc_fuzz::checks::det_file(text);
    }
});
