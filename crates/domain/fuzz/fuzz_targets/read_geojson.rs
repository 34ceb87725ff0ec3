//! The GeoJson reader on arbitrary bytes: it must answer a track or a
//! `ReadError`, never panic, hang or run out of memory.
#![no_main]

use domain::read::{TrackFormat, read_track};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read_track(TrackFormat::GeoJson, data);
});
