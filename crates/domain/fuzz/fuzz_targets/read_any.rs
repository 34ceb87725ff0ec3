//! The upload entry point as the API calls it: the first byte picks the
//! content type (as a client's header would), the rest is the body. Also
//! checks that a successful read keeps the readers' promises.
#![no_main]

use domain::read::{TrackFormat, read_track};
use libfuzzer_sys::fuzz_target;

const CONTENT_TYPES: [&str; 5] = [
    "application/gpx+xml",
    "application/vnd.google-earth.kml+xml",
    "application/geo+json",
    "application/json; charset=utf-8",
    "text/plain",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[usize::from(selector) % CONTENT_TYPES.len()];
    let Some(format) = TrackFormat::from_content_type(content_type) else {
        return;
    };
    if let Ok(track) = read_track(format, body) {
        assert!(track.points.len() >= 2, "a track has at least 2 points");
        for pair in track.points.windows(2) {
            assert!(pair[0].time <= pair[1].time, "points are in time order");
        }
        for p in &track.points {
            assert!(p.lon.is_finite() && (-180.0..=180.0).contains(&p.lon));
            assert!(p.lat.is_finite() && (-90.0..=90.0).contains(&p.lat));
        }
    }
});
