//! Server responses: a status (two bytes), then the `x-should-retry` header, the
//! `Retry-After` header and the body, separated by 0xFF bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let status = u16::from_be_bytes([data[0], data[1]]) % 1000;
    let mut parts = data[2..].splitn(3, |b| *b == 0xFF);
    let should_retry = parts.next().map(String::from_utf8_lossy);
    let retry_after = parts.next().map(String::from_utf8_lossy);
    let body = parts.next().unwrap_or_default();
    weave_exporter::__fuzz::server_response(status, should_retry.as_deref(), retry_after.as_deref(), body);
});
