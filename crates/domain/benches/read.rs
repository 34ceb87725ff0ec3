//! Track reading throughput: our readers on a 1-hour 1 Hz track and on a
//! 20 MiB GPX (the upload limit), side by side with the `gpx` crate as the
//! baseline. Criterion prints MB/s (decimal) per reader.
//!
//! The machine is shared (2 cores, other builds running), so wall time
//! varies with whoever else runs. `gpx_20MiB_cpu` times the same work in
//! this thread's CPU time (`/proc/thread-self/schedstat`: nanoseconds on a
//! CPU), which leaves out the time the thread waited for a core: that is the
//! figure to compare with the 300 MB/s goal; the wall-time groups are what a
//! request sees on a busy machine. The kernel updates that counter only at
//! scheduler ticks (4 ms here), so it serves for the 20 MiB file (~65 ms per
//! read) but not for a 2 ms one-hour track. Figures in BENCHMARKS.md.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use domain::read::{TrackFormat, read_track};
use std::fmt::Write;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Nanoseconds this thread has spent on a CPU (Linux), or `None` elsewhere.
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// Runs `f` `iters` times and returns the CPU time it took (wall time when
/// the CPU clock is not available).
fn cpu_time(iters: u64, mut f: impl FnMut()) -> Duration {
    let (cpu, wall) = (thread_cpu_ns(), Instant::now());
    for _ in 0..iters {
        f();
    }
    match (cpu, thread_cpu_ns()) {
        (Some(a), Some(b)) => Duration::from_nanos(b - a),
        _ => wall.elapsed(),
    }
}

/// 2026-01-05T00:00:00Z, a Monday.
const START_S: i64 = 1_767_571_200;

/// (lon, lat, ele, seconds since start) of the i-th point of a walk along a river.
fn fix(i: usize) -> (f64, f64, f64, i64) {
    let t = i as f64;
    let lon = 103.1 + t * 1.3e-5 + (t / 60.0).sin() * 2e-4;
    let lat = 25.3 + t * 0.9e-5 + (t / 45.0).cos() * 2e-4;
    (lon, lat, 1850.0 + (t / 300.0).sin() * 12.0, i as i64)
}

fn iso(offset_s: i64) -> String {
    let time = chrono::DateTime::from_timestamp(START_S + offset_s, 0).unwrap();
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A GPX 1.1 file as phone apps write it (indented, ele + time per point),
/// with points until it reaches `min_bytes` or `min_points`.
fn gpx(min_points: usize, min_bytes: usize) -> String {
    let mut s = String::from(concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?>"#,
        "\n",
        r#"<gpx version="1.1" creator="bench" xmlns="http://www.topografix.com/GPX/1/1">"#,
        "\n  <trk>\n    <name>巡河</name>\n    <trkseg>\n"
    ));
    let mut i = 0;
    while i < min_points || s.len() < min_bytes {
        let (lon, lat, ele, t) = fix(i);
        let _ = write!(
            s,
            "      <trkpt lat=\"{lat:.7}\" lon=\"{lon:.7}\">\n        <ele>{ele:.1}</ele>\n        \
             <time>{}</time>\n      </trkpt>\n",
            iso(t)
        );
        i += 1;
    }
    s + "    </trkseg>\n  </trk>\n</gpx>\n"
}

fn kml(points: usize) -> String {
    let mut whens = String::new();
    let mut coords = String::new();
    for i in 0..points {
        let (lon, lat, ele, t) = fix(i);
        let _ = writeln!(whens, "        <when>{}</when>", iso(t));
        let _ = writeln!(
            coords,
            "        <gx:coord>{lon:.7} {lat:.7} {ele:.1}</gx:coord>"
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<kml xmlns=\"http://www.opengis.net/kml/2.2\" \
         xmlns:gx=\"http://www.google.com/kml/ext/2.2\">\n  <Placemark>\n      <gx:Track>\n\
         {whens}{coords}      </gx:Track>\n  </Placemark>\n</kml>\n"
    )
}

fn geojson(points: usize) -> String {
    let fixes: Vec<_> = (0..points).map(fix).collect();
    let coords: Vec<_> = fixes
        .iter()
        .map(|&(lon, lat, ele, _)| serde_json::json!([lon, lat, ele]))
        .collect();
    let times: Vec<_> = fixes.iter().map(|&(.., t)| iso(t)).collect();
    serde_json::json!({"type": "FeatureCollection", "features": [{"type": "Feature",
        "geometry": {"type": "LineString", "coordinates": coords},
        "properties": {"coordinateProperties": {"times": times}}}]})
    .to_string()
}

fn gpx_crate(bytes: &[u8]) -> usize {
    let doc = gpx::read(bytes).expect("gpx crate reads the generated file");
    doc.tracks
        .iter()
        .flat_map(|t| &t.segments)
        .map(|s| s.points.len())
        .sum()
}

fn ours(format: TrackFormat, bytes: &[u8]) -> usize {
    read_track(format, bytes)
        .expect("generated track reads")
        .points
        .len()
}

fn one_hour(c: &mut Criterion) {
    let file = gpx(3600, 0);
    assert_eq!(ours(TrackFormat::Gpx, file.as_bytes()), 3600);
    let mut group = c.benchmark_group("gpx_1h_1hz");
    group.throughput(Throughput::BytesDecimal(file.len() as u64));
    group.bench_function("riverchief", |b| {
        b.iter(|| ours(TrackFormat::Gpx, black_box(file.as_bytes())))
    });
    group.bench_function("gpx_crate", |b| {
        b.iter(|| gpx_crate(black_box(file.as_bytes())))
    });
    group.finish();

    let mut group = c.benchmark_group("other_1h_1hz");
    for (name, format, file) in [
        ("kml", TrackFormat::Kml, kml(3600)),
        ("geojson", TrackFormat::GeoJson, geojson(3600)),
    ] {
        assert_eq!(ours(format, file.as_bytes()), 3600);
        group.throughput(Throughput::BytesDecimal(file.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| ours(format, black_box(file.as_bytes())))
        });
    }
    group.finish();
}

fn upload_limit(c: &mut Criterion) {
    let file = gpx(0, 20 * 1024 * 1024);
    println!(
        "20 MiB GPX: {} bytes, {} points",
        file.len(),
        ours(TrackFormat::Gpx, file.as_bytes())
    );
    let mut group = c.benchmark_group("gpx_20MiB");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(12));
    group.throughput(Throughput::BytesDecimal(file.len() as u64));
    group.bench_function("riverchief", |b| {
        b.iter(|| ours(TrackFormat::Gpx, black_box(file.as_bytes())))
    });
    group.bench_function("gpx_crate", |b| {
        b.iter(|| gpx_crate(black_box(file.as_bytes())))
    });
    group.finish();

    let mut group = c.benchmark_group("gpx_20MiB_cpu");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(12));
    group.throughput(Throughput::BytesDecimal(file.len() as u64));
    group.bench_function("riverchief", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                black_box(ours(TrackFormat::Gpx, black_box(file.as_bytes())));
            })
        })
    });
    group.finish();
}

criterion_group!(benches, one_hour, upload_limit);
criterion_main!(benches);
