//! Peak memory of reading a 20 MiB track file (the upload limit), measured
//! with a counting global allocator: the issue asks for less than 4× the
//! file's size. The figure is the peak of memory allocated *while reading*,
//! on top of the input bytes the caller already holds; the assertion counts
//! the input too. One test in this binary, so no other thread allocates
//! during a measurement. `cargo test -p domain --release --test read_memory
//! -- --nocapture` prints the figures for BENCHMARKS.md.

use domain::read::{TrackFormat, read_track};
use peakmem_alloc::{INSTRUMENTED_SYSTEM, PeakMemAlloc, PeakMemAllocTrait};
use std::alloc::System;
use std::fmt::Write;

#[global_allocator]
static ALLOCATOR: &PeakMemAlloc<System> = &INSTRUMENTED_SYSTEM;

const LIMIT_BYTES: usize = 20 * 1024 * 1024;

/// 2026-01-05T08:00:00Z plus `i` seconds, as GPX/KML write it.
fn iso(i: usize) -> String {
    let (h, m, s) = (8 + i / 3600, i / 60 % 60, i % 60);
    let day = 5 + h / 24;
    format!("2026-01-{day:02}T{:02}:{m:02}:{s:02}Z", h % 24)
}

fn fix(i: usize) -> (f64, f64) {
    let t = i as f64;
    (
        103.1 + t * 1.3e-7 + (t / 60.0).sin() * 2e-4,
        25.3 + t * 0.9e-7 + (t / 45.0).cos() * 2e-4,
    )
}

/// Points until the file is just under `LIMIT_BYTES`, each written by `point`.
fn fill(head: &str, tail: &str, mut point: impl FnMut(&mut String, usize)) -> Vec<u8> {
    let mut text = String::with_capacity(LIMIT_BYTES);
    text.push_str(head);
    let mut i = 0;
    let mut one = String::new();
    loop {
        one.clear();
        point(&mut one, i);
        if text.len() + one.len() + tail.len() > LIMIT_BYTES {
            break;
        }
        text.push_str(&one);
        i += 1;
    }
    text.push_str(tail);
    text.into_bytes()
}

/// A phone app's GPX: indented, `<ele>` and `<time>` per point.
fn gpx_app() -> Vec<u8> {
    fill(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gpx version=\"1.1\" creator=\"t\" \
         xmlns=\"http://www.topografix.com/GPX/1/1\">\n  <trk>\n    <trkseg>\n",
        "    </trkseg>\n  </trk>\n</gpx>\n",
        |s, i| {
            let (lon, lat) = fix(i);
            let _ = write!(
                s,
                "      <trkpt lat=\"{lat:.7}\" lon=\"{lon:.7}\">\n        <ele>1850.0</ele>\n        \
                 <time>{}</time>\n      </trkpt>\n",
                iso(i)
            );
        },
    )
}

/// The densest plausible GPX: no indentation, no elevation, so the most
/// points (and the largest parsed track) per byte.
fn gpx_dense() -> Vec<u8> {
    fill("<gpx><trk><trkseg>", "</trkseg></trk></gpx>", |s, i| {
        let (lon, lat) = fix(i);
        let _ = write!(
            s,
            "<trkpt lat=\"{lat:.6}\" lon=\"{lon:.6}\"><time>{}</time></trkpt>",
            iso(i)
        );
    })
}

fn kml() -> Vec<u8> {
    // gx:Track lists all <when>s, then all <gx:coord>s: build both halves.
    let (mut whens, mut coords) = (String::new(), String::new());
    let mut i = 0;
    while whens.len() + coords.len() < LIMIT_BYTES - 1024 {
        let (lon, lat) = fix(i);
        let _ = writeln!(whens, "<when>{}</when>", iso(i));
        let _ = writeln!(coords, "<gx:coord>{lon:.7} {lat:.7} 1850.0</gx:coord>");
        i += 1;
    }
    format!(
        "<kml xmlns:gx=\"http://www.google.com/kml/ext/2.2\"><Placemark><gx:Track>\n\
         {whens}{coords}</gx:Track></Placemark></kml>"
    )
    .into_bytes()
}

fn geojson() -> Vec<u8> {
    let (mut positions, mut times) = (String::new(), String::new());
    let mut i = 0;
    while positions.len() + times.len() < LIMIT_BYTES - 1024 {
        let (lon, lat) = fix(i);
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(positions, "{sep}[{lon:.7},{lat:.7},1850.0]");
        let _ = write!(times, "{sep}\"{}\"", iso(i));
        i += 1;
    }
    format!(
        "{{\"type\":\"Feature\",\"geometry\":{{\"type\":\"LineString\",\"coordinates\":[{positions}]}},\
         \"properties\":{{\"coordinateProperties\":{{\"times\":[{times}]}}}}}}"
    )
    .into_bytes()
}

#[test]
fn a_20_mib_file_reads_in_under_4x_its_size() {
    let cases: [(&str, TrackFormat, Vec<u8>); 4] = [
        ("GPX, phone app style", TrackFormat::Gpx, gpx_app()),
        ("GPX, dense", TrackFormat::Gpx, gpx_dense()),
        ("KML gx:Track", TrackFormat::Kml, kml()),
        ("GeoJSON LineString", TrackFormat::GeoJson, geojson()),
    ];
    for (name, format, bytes) in cases {
        assert!(bytes.len() <= LIMIT_BYTES && bytes.len() > LIMIT_BYTES - 2048);
        ALLOCATOR.reset_peak_memory();
        let track = read_track(format, &bytes).expect("the generated file reads");
        let peak = ALLOCATOR.get_peak_memory();
        let size = bytes.len() as f64;
        println!(
            "{name}: {:.1} MiB, {} points: peak while reading {:.1} MiB = {:.2}× the file; \
             with the input {:.2}×",
            size / 1048576.0,
            track.points.len(),
            peak as f64 / 1048576.0,
            peak as f64 / size,
            (peak as f64 + size) / size,
        );
        assert!(
            (peak as f64 + size) < 4.0 * size,
            "{name}: {peak} bytes while reading a {size} byte file"
        );
    }
}
