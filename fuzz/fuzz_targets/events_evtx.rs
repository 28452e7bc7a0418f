//! The EVTX reader of `detc match` (`read_evtx`, through the `evtx` crate), on a file holding the
//! input bytes.
//!
//! `read_evtx` catches a panic inside the `evtx` crate by design (the file ends with a
//! diagnostic), but libfuzzer-sys makes every panic abort. So this target installs its own panic
//! hook: a panic raised in a third-party crate (a location under `.cargo/registry`) is the
//! documented, handled case and is let through to `read_evtx`'s `catch_unwind`; a panic anywhere
//! else (detc's own code, including the record callback) aborts as a finding.
#![no_main]
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn setup() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let third_party = info
                .location()
                .is_some_and(|l| l.file().contains(".cargo/registry"));
            if !third_party {
                default(info);
                std::process::abort();
            }
        }));
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("detc-fuzz-{}.evtx", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let path = setup();
    std::fs::write(path, data).expect("write the input file");
    detc_fuzz::checks::evtx_events(path);
});
