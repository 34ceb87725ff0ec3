//! Every track file in the shared fixture set (GPX, KML, GeoJSON from many
//! apps) against the outcome we expect: a point count and flags, or an error
//! code. GPX results are cross-checked against the `gpx` crate where it reads.
//!
//! Files under a permissive license live in the repository
//! (`tests/data/fixtures/`); copyleft ones (AGPL sports-lib and dawarich, GPL
//! gpsbabel, and files derived from them) are read from `../shared/fixtures`
//! next to the checkout, and skipped with a note when it is missing.

use domain::read::{TrackFormat, read_track};
use domain::track::Track;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What reading a file should give.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// A track with this many points and exactly these flags.
    Points(usize, &'static [&'static str]),
    /// A rejection with this error code.
    Fails(&'static str),
}
use Expect::{Fails, Points};

/// Path prefixes (relative to the fixture root) that must not be copied into
/// the repository: their licenses are copyleft.
const COPYLEFT: [&str; 8] = [
    "gpx/sports-lib/",
    "gpx/gpsbabel/",
    "gpx/dawarich/",
    "kml/gpsbabel/",
    "kml/dawarich/",
    "geojson/dawarich/",
    "geojson/gpsbabel/",
    "geojson/derived-togeojson/gpx_track_multiple_segments.", // from dawarich
];

#[rustfmt::skip]
const TABLE: &[(&str, Expect)] = &[
    ("geojson/dawarich/gpslogger_example.json", Fails("too_few_points")), // one Point feature
    ("geojson/dawarich/various_fields.geojson", Points(3, &[])), // datetime / when / recorded_at
    ("geojson/derived-togeojson/garmin-activity.togeojson.geojson", Points(988, &[])),
    ("geojson/derived-togeojson/gpx_track_multiple_segments.mapbox-togeojson.geojson", Points(43, &[])), // coordTimes, one array per line
    ("geojson/derived-togeojson/gpx_track_multiple_segments.togeojson.geojson", Points(43, &[])), // coordinateProperties.times, array of arrays
    ("geojson/derived-togeojson/gxtrack.mapbox-togeojson.geojson", Points(7, &[])),
    ("geojson/gpsbabel/geojson.geojson", Fails("no_timestamps")), // every geometry type, no times
    ("geojson/gpsbabel/segmented_tracks~geojson.json", Fails("no_timestamps")),
    ("geojson/trackintel/positionfixes.geojson", Points(6, &[])), // tracked_at
    ("geojson/trackintel/triplegs.geojson", Fails("no_timestamps")), // only started_at / finished_at per line
    ("gpx/dawarich/garmin_example.gpx", Fails("too_few_points")), // a single point
    ("gpx/dawarich/gpx_track_multiple_segments.gpx", Points(43, &[])),
    ("gpx/dawarich/gpx_track_single_segment.gpx", Points(10, &[])),
    ("gpx/georust-gpx/caltopo-export.gpx", Points(6, &[])),
    ("gpx/georust-gpx/ecology-trail-and-lovers-lane-loop.gpx", Fails("no_track")),
    ("gpx/georust-gpx/empty_name_tag.gpx", Fails("too_few_points")), // <trk> without points
    ("gpx/georust-gpx/garmin-activity.gpx", Points(988, &[])),
    ("gpx/georust-gpx/gpsies_example.gpx", Points(41, &[])),
    ("gpx/georust-gpx/strava_route_example.gpx", Fails("no_timestamps")), // a planned route saved as <trk>
    ("gpx/georust-gpx/viking_with_route_extensions.gpx", Fails("no_timestamps")),
    ("gpx/georust-gpx/wahoo_example.gpx", Points(3, &[])),
    ("gpx/georust-gpx/wikipedia_example.gpx", Points(3, &[])),
    ("gpx/georust-gpx/with_accuracy.gpx", Points(3, &[])),
    ("gpx/gpsbabel/empty.gpx", Fails("no_track")), // valid GPX with no content
    ("gpx/gpsbabel/expertgps.gpx", Points(64, &[])),
    ("gpx/gpsbabel/gpx_subsecond-sample.gpx", Points(5, &[])),
    ("gpx/gpsbabel/mtk_logger_m241_multiple_tracks.gpx", Points(14263, &[])),
    ("gpx/gpsbabel/segmented_tracks.gpx", Points(4, &["points_without_time"])), // only 4 of 46 points have a time
    ("gpx/gpsbabel/tcxtest.gpx", Points(1202, &[])),
    ("gpx/gpsbabel/trackfilter_discard_err.gpx", Fails("malformed_track")), // not XML at all
    ("gpx/gpx.studio/simple.gpx", Fails("no_timestamps")),
    ("gpx/gpx.studio/with_cad.gpx", Fails("no_timestamps")),
    ("gpx/gpx.studio/with_hr.gpx", Fails("no_timestamps")),
    ("gpx/gpx.studio/with_power_1.gpx", Fails("no_timestamps")),
    ("gpx/gpx.studio/with_power_2.gpx", Fails("no_timestamps")), // unbound namespace prefix: fine without namespace resolution
    ("gpx/gpx.studio/with_routes.gpx", Fails("no_track")),
    ("gpx/gpx.studio/with_segments.gpx", Fails("no_timestamps")),
    ("gpx/gpx.studio/with_style.gpx", Fails("no_timestamps")),
    ("gpx/gpx.studio/with_surface.gpx", Fails("no_timestamps")),
    ("gpx/gpx.studio/with_temp.gpx", Fails("no_timestamps")),
    ("gpx/gpx.studio/with_time.gpx", Points(80, &[])),
    ("gpx/gpx.studio/with_tracks.gpx", Fails("no_timestamps")),
    ("gpx/gpx.studio/with_waypoint.gpx", Fails("no_timestamps")),
    ("gpx/gpxpy/Mojstrovka.gpx", Fails("invalid_timestamp")), // all times 1901-12-13 (i32 epoch minimum)
    ("gpx/gpxpy/around-visnjan-with-car.gpx", Points(104, &[])),
    ("gpx/gpxpy/cerknicko-jezero-no-creator.gpx", Points(296, &[])),
    ("gpx/gpxpy/cerknicko-jezero-with-elevations-zero.gpx", Points(296, &[])),
    ("gpx/gpxpy/cerknicko-jezero-without-elevations.gpx", Points(295, &["points_without_time"])), // one <trkpt> is empty
    ("gpx/gpxpy/cerknicko-jezero.gpx", Points(296, &[])),
    ("gpx/gpxpy/custom_schema_locations.gpx", Fails("no_track")),
    ("gpx/gpxpy/default_schema_locations.gpx", Fails("no_track")),
    ("gpx/gpxpy/first_and_last_elevation.gpx", Points(10, &[])),
    ("gpx/gpxpy/gpx-with-node-with-comments.gpx", Fails("too_few_points")),
    ("gpx/gpxpy/gpx1.0_with_all_fields.gpx", Fails("too_few_points")), // one timed point (naive time)
    ("gpx/gpxpy/gpx1.1_with_all_fields.gpx", Fails("too_few_points")), // one timed point (naive time)
    ("gpx/gpxpy/gpx1.1_with_extensions.gpx", Fails("no_track")),
    ("gpx/gpxpy/gpx1.1_with_extensions_without_namespaces.gpx", Fails("no_track")),
    ("gpx/gpxpy/gpx_with_garmin_extension.gpx", Fails("no_track")),
    ("gpx/gpxpy/route.gpx", Fails("no_track")),
    ("gpx/gpxpy/track-with-extremes.gpx", Fails("no_timestamps")),
    ("gpx/gpxpy/track-with-small-floats.gpx", Fails("no_timestamps")), // 1e-05 coordinates read, but no times
    ("gpx/gpxpy/track_with_dilution_errors.gpx", Fails("too_few_points")), // one point, no time
    ("gpx/gpxpy/track_with_speed.gpx", Points(3, &[])), // bare <gpx>, <speed>, CRLF
    ("gpx/gpxpy/unicode.gpx", Fails("no_track")),
    ("gpx/gpxpy/unicode2.gpx", Fails("too_few_points")), // <trk> without points
    ("gpx/gpxpy/unicode_with_bom.gpx", Fails("no_track")), // BOM, waypoint only
    ("gpx/opentracks/gpx11_with_speed_no_namespace.gpx", Points(3, &[])),
    ("gpx/opentracks/gpx11_without_speed.gpx", Points(3, &[])),
    ("gpx/opentracks/legacy_gpx_trackpointextensions_incorrect.gpx", Points(5, &[])),
    ("gpx/sports-lib/6090674952.gpx", Points(355, &[])),
    ("gpx/sports-lib/7555261629.gpx", Points(10063, &[])),
    ("gpx/sports-lib/garmin.gpx", Points(217, &[])),
    ("gpx/sports-lib/movescount.gpx", Points(1592, &[])),
    ("gpx/sports-lib/strava.gpx", Points(7264, &[])),
    ("gpx/togeojson/apple_watch_route.gpx", Points(44, &[])),
    ("gpx/togeojson/blue_hills.gpx", Points(1243, &[])),
    ("gpx/togeojson/empty_ele.gpx", Fails("too_few_points")), // the same point twice
    ("gpx/togeojson/empty_trk.gpx", Fails("too_few_points")),
    ("gpx/togeojson/garmin_extensions.gpx", Fails("no_timestamps")),
    ("gpx/togeojson/gdal.gpx", Fails("no_timestamps")),
    ("gpx/togeojson/missing_hr.gpx", Points(16, &[])),
    ("gpx/togeojson/north_core.gpx", Fails("no_timestamps")),
    ("gpx/togeojson/opencpn.gpx", Fails("no_track")),
    ("gpx/togeojson/run.gpx", Points(205, &["duplicate_points"])), // one point repeated
    ("gpx/togeojson/run_gpxtpx.gpx", Points(42, &[])),
    ("gpx/togeojson/strava.gpx", Points(3, &[])),
    ("gpx/togeojson/style.gpx", Fails("no_timestamps")),
    ("gpx/togeojson/trek.gpx", Fails("no_track")),
    ("gpx/togeojson/trek_no_rtept.gpx", Fails("no_track")),
    ("gpx/togeojson/unique_trkpt.gpx", Fails("too_few_points")),
    ("gpx/togeojson/wpt.gpx", Fails("no_track")),
    ("gpx/togeojson/zero_elevation.gpx", Points(3, &[])),
    ("gpx/trackintel/track1.gpx", Fails("too_few_points")),
    ("kml/dawarich/gx_track.kml", Points(4, &[])),
    ("kml/dawarich/linestring_track.kml", Fails("no_timestamps")), // LineString with one TimeStamp
    ("kml/dawarich/multigeometry.kml", Fails("no_timestamps")), // one TimeStamp for a MultiGeometry
    ("kml/dawarich/nested_folders.kml", Points(4, &[])), // timed Point Placemarks in folders
    ("kml/dawarich/points_with_timestamps.kml", Points(3, &[])), // timed Point Placemarks
    ("kml/dawarich/timespan.kml", Fails("no_timestamps")), // TimeSpan is not a per-point time
    ("kml/gpsbabel/Placemark-Track-1.kml", Points(7, &[])), // OGC KML 2.3 <Track>/<coord>
    ("kml/gpsbabel/gtrnctr_power-kml.kml", Points(5109, &[])),
    ("kml/gpsbabel/realtime.kml", Fails("invalid_timestamp")), // 1970 times: no date fix
    ("kml/gpsbabel/segmented_tracks.kml", Points(4, &["points_without_time"])), // 4 of 46 Point Placemarks timed; LineStrings untimed
    ("kml/opentracks/kml22_order_location_and_when.kml", Points(3, &[])), // interleaved blocks, 2 pause marks
    ("kml/opentracks/kml22_when_locations_different.kml", Fails("malformed_track")), // 1 <when>, 2 <gx:coord>
    ("kml/opentracks/kml22_without_locations.kml", Fails("too_few_points")), // empty <gx:Track/>
    ("kml/togeojson/gxtrack.kml", Points(7, &[])),
    ("kml/togeojson/linestring.kml", Fails("no_timestamps")),
    ("kml/togeojson/multigeometry.kml", Fails("no_timestamps")),
    ("kml/togeojson/multigeometry_discrete.kml", Fails("no_timestamps")),
    ("kml/togeojson/multitrack.kml", Points(16, &[])), // start/end marker Points ignored
    ("kml/togeojson/nogeomplacemark.kml", Fails("no_track")),
    ("kml/togeojson/non_gx_multitrack.kml", Points(16, &[])), // <MultiTrack> without prefix
    ("kml/togeojson/null_geometry.kml", Fails("no_track")),
    ("kml/togeojson/selfclosing.kml", Fails("no_track")), // <coordinates/> is no geometry
    ("kml/togeojson/timespan.kml", Fails("no_timestamps")), // Polygon with a TimeSpan
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/fixtures")
}

/// The shared fixture folder next to the checkout, if it is there.
fn shared_root() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures");
    dir.is_dir().then_some(dir)
}

fn is_copyleft(path: &str) -> bool {
    COPYLEFT.iter().any(|prefix| path.starts_with(prefix))
}

/// Where a table entry is read from; `None` for copyleft files without the shared folder.
fn location(path: &str) -> Option<PathBuf> {
    if is_copyleft(path) {
        shared_root().map(|root| root.join(path))
    } else {
        Some(repo_root().join(path))
    }
}

fn read(path: &Path) -> Result<Track, domain::read::ReadError> {
    let name = path.to_str().unwrap();
    let format = TrackFormat::from_file_name(name).unwrap_or_else(|| panic!("format of {name}"));
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{name}: {e}"));
    read_track(format, &bytes)
}

#[test]
fn every_fixture_reads_as_expected() {
    let mut failures = Vec::new();
    let (mut checked, mut skipped) = (0, 0);
    for &(path, expect) in TABLE {
        let Some(file) = location(path) else {
            skipped += 1;
            continue;
        };
        checked += 1;
        let got = read(&file);
        let ok = match (&got, expect) {
            (Ok(track), Points(n, flags)) => {
                track.points.len() == n
                    && track.flags == flags.iter().copied().collect::<BTreeSet<_>>()
            }
            (Err(e), Fails(code)) => e.code() == code,
            _ => false,
        };
        if !ok {
            let got = got.map(|t| (t.points.len(), t.flags));
            failures.push(format!("{path}: expected {expect:?}, got {got:?}"));
        }
    }
    if skipped > 0 {
        println!("note: ../shared/fixtures not found: skipped {skipped} copyleft fixtures");
    }
    println!("checked {checked} fixtures");
    assert!(
        failures.is_empty(),
        "{} fixture(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Lists track files (not SOURCES.md, rivers or CSV trajectories) under `root`.
fn track_files(root: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if TrackFormat::from_file_name(path.to_str().unwrap()).is_some() {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .replace('\\', "/");
                if !rel.starts_with("rivers/") && !rel.starts_with("trajectories/") {
                    found.insert(rel);
                }
            }
        }
    }
    found
}

#[test]
fn table_covers_every_file_and_only_permissive_ones_are_copied() {
    let listed: BTreeSet<String> = TABLE.iter().map(|(p, _)| p.to_string()).collect();
    assert_eq!(listed.len(), TABLE.len(), "duplicate rows in TABLE");
    let in_repo = track_files(&repo_root());
    let copyleft_in_repo: Vec<_> = in_repo.iter().filter(|p| is_copyleft(p)).collect();
    assert!(
        copyleft_in_repo.is_empty(),
        "copyleft files in the repo: {copyleft_in_repo:?}"
    );
    let permissive: BTreeSet<String> = listed.iter().filter(|p| !is_copyleft(p)).cloned().collect();
    assert_eq!(
        in_repo, permissive,
        "tests/data/fixtures differs from the permissive rows of TABLE"
    );
    match shared_root() {
        Some(root) => assert_eq!(
            track_files(&root),
            listed,
            "../shared/fixtures differs from TABLE"
        ),
        None => {
            println!("note: ../shared/fixtures not found: coverage of the shared set not checked")
        }
    }
}

/// The `gpx` crate's reading of a file: timed track points as
/// (unix nanos, lon, lat), sorted by time and without exact duplicates.
fn gpx_crate_points(path: &Path) -> Option<Vec<(i64, f64, f64)>> {
    let file = std::fs::File::open(path).ok()?;
    let doc = gpx::read(std::io::BufReader::new(file)).ok()?;
    let mut points: Vec<(i64, f64, f64)> = doc
        .tracks
        .iter()
        .flat_map(|t| &t.segments)
        .flat_map(|s| &s.points)
        .filter_map(|w| {
            let text = w.time?.format().ok()?;
            let time = chrono::DateTime::parse_from_rfc3339(&text).ok()?;
            Some((time.timestamp_nanos_opt()?, w.point().x(), w.point().y()))
        })
        .collect();
    points.sort_by_key(|p| p.0);
    let mut unique = Vec::new();
    for p in points {
        let dup = unique
            .iter()
            .rev()
            .take_while(|q: &&(i64, f64, f64)| q.0 == p.0)
            .any(|q| *q == p);
        if !dup {
            unique.push(p);
        }
    }
    Some(unique)
}

#[test]
fn gpx_tracks_agree_with_the_gpx_crate() {
    let (mut compared, mut unreadable) = (0, Vec::new());
    for &(path, expect) in TABLE {
        let (true, Points(..)) = (path.ends_with(".gpx"), expect) else {
            continue;
        };
        let Some(file) = location(path) else { continue };
        let Some(theirs) = gpx_crate_points(&file) else {
            unreadable.push(path);
            continue;
        };
        let ours: Vec<(i64, f64, f64)> = read(&file)
            .unwrap()
            .points
            .iter()
            .map(|p| (p.time.timestamp_nanos_opt().unwrap(), p.lon, p.lat))
            .collect();
        assert_eq!(ours, theirs, "{path}");
        compared += 1;
    }
    println!("compared {compared} GPX tracks with the gpx crate; it could not read {unreadable:?}");
    assert!(compared >= 20, "only {compared} GPX files compared");
}
