//! The JSON/NDJSON event reader of `detc match`, and the fast NDJSON path against the general one.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    detc_fuzz::checks::json_events(data);
});
