//! The town import document (`POST /api/v1/import/town`, `riverchief
//! import town`) on arbitrary bytes: `domain::import::parse` must answer a
//! checked town or an `ImportError` naming the field, never panic, hang or
//! run out of memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = domain::import::parse(data);
});
