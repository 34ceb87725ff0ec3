//! GPX 1.0 / 1.1 reader: every `<trkpt>` of every `<trk>`/`<trkseg>`, joined
//! in time order. Elements are matched by local name, so any namespace prefix
//! works; `<extensions>`, `<speed>`, `<course>` and the like are skipped.
//!
//! Outcomes: track points → a track (or `no_timestamps` / `too_few_points`,
//! see `build.rs`); a `<trk>` without points → `too_few_points`; no `<trk>` at
//! all (routes, waypoints or an empty document) → `no_track`. Only `<ele>` and
//! `<time>` that are direct children of `<trkpt>` are read.
//!
//! OpenTracks' legacy export (and MyTracks' before it) marks a pause and a
//! resume with points at latitude 100 and 200, longitude 0: these exact
//! points are segment breaks, not positions, and are left out, whatever the
//! `creator` (an editor that re-saved the file keeps the markers but not
//! the creator). Like a `<trkseg>` boundary they leave no trace in the
//! track: the points on both sides are joined, so the distance across a
//! pause is in the length and its time is a gap, as between segments. Any
//! other latitude beyond ±90 is still `invalid_coordinates`.

use super::ReadError;
use super::build::{TrackBuilder, check_position, parse_f64, parse_number};
use super::timestamp::{Stamp, parse_time};
use super::xml::{Handler, stream};
use crate::track::Track;
use quick_xml::events::{BytesStart, BytesText};

/// The `<trkpt>` being read, and its depth in the document.
struct OpenPoint {
    depth: usize,
    no: usize,
    lon: f64,
    lat: f64,
    ele: Option<f64>,
    stamp: Option<Stamp>,
    /// An OpenTracks pause or resume marker, not a position.
    pause_marker: bool,
}

/// Which child of the open `<trkpt>` the next text belongs to.
#[derive(Clone, Copy, PartialEq)]
enum Field {
    Ele,
    Time,
}

/// Streaming state: the points so far and the `<trkpt>` being read.
#[derive(Default)]
struct Gpx {
    builder: TrackBuilder,
    has_trk: bool,
    point: Option<OpenPoint>,
    field: Option<Field>,
}

/// Reads a GPX document.
pub(crate) fn read(text: &str) -> Result<Track, ReadError> {
    let mut gpx = Gpx::default();
    stream(text, "gpx", &mut gpx)?;
    if gpx.builder.seen() == 0 && !gpx.has_trk {
        return Err(ReadError::NoTrack);
    }
    gpx.builder.finish()
}

impl<'a> Handler<'a> for Gpx {
    fn open(&mut self, e: &BytesStart<'a>, depth: usize) -> Result<(), ReadError> {
        self.field = None;
        let child_of_point = self.point.as_ref().is_some_and(|p| depth == p.depth + 1);
        match e.local_name().as_ref() {
            "trkpt" => self.point = Some(open_point(e, depth, self.builder.next_point_no())?),
            "ele" if child_of_point => self.field = Some(Field::Ele),
            "time" if child_of_point => self.field = Some(Field::Time),
            "trk" => self.has_trk = true,
            _ => {}
        }
        Ok(())
    }

    fn text(&mut self, text: BytesText<'a>) -> Result<(), ReadError> {
        match (self.field, &mut self.point) {
            (Some(field), Some(p)) => read_field(p, field, &text),
            _ => Ok(()),
        }
    }

    fn close(&mut self, depth: usize) -> Result<(), ReadError> {
        self.field = None;
        match self.point.take_if(|p| p.depth == depth) {
            Some(p) if p.pause_marker => self.builder.skip_point(),
            Some(p) => self.builder.push(p.lon, p.lat, p.ele, p.stamp),
            None => {}
        }
        Ok(())
    }
}

/// Reads `lat`/`lon` of a `<trkpt>`; both are required.
fn open_point(e: &BytesStart<'_>, depth: usize, no: usize) -> Result<OpenPoint, ReadError> {
    let (mut lat, mut lon) = (None, None);
    for attr in e.attributes().with_checks(false) {
        let attr = attr.map_err(|err| {
            ReadError::Malformed(format!("point {no}: bad <trkpt> attribute: {err}"))
        })?;
        match attr.key.local_name().as_ref() {
            "lat" => lat = Some(parse_number(&attr.value, "latitude", no)?),
            "lon" => lon = Some(parse_number(&attr.value, "longitude", no)?),
            _ => {}
        }
    }
    let missing = |what: &str| {
        ReadError::InvalidCoordinates(format!("point {no}: <trkpt> has no {what} attribute"))
    };
    let lat = lat.ok_or_else(|| missing("lat"))?;
    let lon = lon.ok_or_else(|| missing("lon"))?;
    let pause_marker = is_pause_marker(lon, lat);
    if !pause_marker {
        check_position(lon, lat, no)?;
    }
    Ok(OpenPoint {
        depth,
        no,
        lon,
        lat,
        ele: None,
        stamp: None,
        pause_marker,
    })
}

/// OpenTracks' legacy pause (latitude 100) and resume (200) markers, both at
/// longitude 0; exact values only, so a wrong position is still refused.
fn is_pause_marker(lon: f64, lat: f64) -> bool {
    lon == 0.0 && (lat == 100.0 || lat == 200.0)
}

/// An unreadable `<ele>` is dropped (elevation is informative only); an
/// unreadable `<time>` rejects the file, since times decide the week.
fn read_field(p: &mut OpenPoint, field: Field, text: &str) -> Result<(), ReadError> {
    let text = text.trim_ascii();
    if text.is_empty() {
        return Ok(());
    }
    match field {
        Field::Ele => p.ele = parse_f64(text),
        Field::Time => p.stamp = Some(parse_time(text, p.no)?),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::flag;

    /// A GPX 1.1 document around the given track points.
    fn gpx(points: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
<trk><trkseg>{points}</trkseg></trk></gpx>"#
        )
    }

    fn pt(lat: &str, lon: &str, time: &str) -> String {
        format!(r#"<trkpt lat="{lat}" lon="{lon}"><ele>12.5</ele><time>{time}</time></trkpt>"#)
    }

    fn two_points() -> String {
        pt("25.3", "103.1", "2026-01-05T08:00:00Z") + &pt("25.31", "103.11", "2026-01-05T08:10:00Z")
    }

    fn code(text: &str) -> Result<usize, &'static str> {
        read(text).map(|t| t.points.len()).map_err(|e| e.code())
    }

    #[test]
    fn outcomes() {
        let cases: Vec<(&str, String, Result<usize, &str>)> = vec![
            ("two points", gpx(&two_points()), Ok(2)),
            ("empty gpx", "<gpx version=\"1.1\"></gpx>".into(), Err("no_track")),
            ("self-closing gpx", "<gpx/>".into(), Err("no_track")),
            ("route only", r#"<gpx><rte><rtept lat="1" lon="2"><time>2026-01-05T08:00:00Z</time></rtept></rte></gpx>"#.into(), Err("no_track")),
            ("waypoints only", r#"<gpx><wpt lat="1" lon="2"><time>2026-01-05T08:00:00Z</time></wpt></gpx>"#.into(), Err("no_track")),
            ("empty trk", "<gpx><trk><name/></trk></gpx>".into(), Err("too_few_points")),
            ("one point", gpx(&pt("1", "2", "2026-01-05T08:00:00Z")), Err("too_few_points")),
            ("no times", gpx(r#"<trkpt lat="1" lon="2"/><trkpt lat="1" lon="3"></trkpt>"#), Err("no_timestamps")),
            ("empty time", gpx(r#"<trkpt lat="1" lon="2"><time/></trkpt><trkpt lat="1" lon="3"><time> </time></trkpt>"#), Err("no_timestamps")),
            ("lat 95", gpx(&pt("95", "2", "2026-01-05T08:00:00Z")), Err("invalid_coordinates")),
            ("lon -181", gpx(&pt("1", "-181", "2026-01-05T08:00:00Z")), Err("invalid_coordinates")),
            ("NaN", gpx(&pt("NaN", "2", "2026-01-05T08:00:00Z")), Err("invalid_coordinates")),
            ("inf", gpx(&pt("1", "inf", "2026-01-05T08:00:00Z")), Err("invalid_coordinates")),
            ("not a number", gpx(&pt("1,5", "2", "2026-01-05T08:00:00Z")), Err("invalid_coordinates")),
            ("missing lon", gpx(r#"<trkpt lat="1"/>"#), Err("invalid_coordinates")),
            ("bad time", gpx(&pt("1", "2", "tomorrow")), Err("invalid_timestamp")),
            ("1970 time", gpx(&pt("1", "2", "1970-01-01T00:00:03Z")), Err("invalid_timestamp")),
            ("truncated", gpx(&two_points())[..200].to_string(), Err("malformed_track")),
            ("not xml", "{\"type\": \"Feature\"}".into(), Err("malformed_track")),
            ("kml root", "<kml/>".into(), Err("malformed_track")),
        ];
        for (name, text, expected) in cases {
            assert_eq!(code(&text), expected, "{name}");
        }
    }

    #[test]
    fn message_names_the_point() {
        let text = gpx(&(two_points() + &pt("95.0", "2", "2026-01-05T08:20:00Z")));
        let err = read(&text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid coordinates: point 3: latitude 95.0 is outside -90..90"
        );
    }

    #[test]
    fn values_are_read() {
        let track = read(&gpx(&two_points())).unwrap();
        let p = track.points[0];
        assert_eq!((p.lon, p.lat, p.ele), (103.1, 25.3, Some(12.5)));
        assert_eq!(p.time.to_rfc3339(), "2026-01-05T08:00:00+00:00");
        assert!(track.flags.is_empty());
    }

    #[test]
    fn tolerated_variants() {
        let prefixed = r#"<g:gpx xmlns:g="http://www.topografix.com/GPX/1/0"><g:trk><g:trkseg>
            <g:trkpt lat="1e-05" lon="-2.5E+1"><g:time>2026-01-05T09:00:00+01:00</g:time><g:speed>1.2</g:speed><g:course>90</g:course></g:trkpt>
            <g:trkpt lat="2" lon="3"><!-- a comment --><g:time>2026-01-05T08:00:01.123456789Z</g:time></g:trkpt>
            </g:trkseg></g:trk></g:gpx>"#;
        let track = read(prefixed).unwrap();
        assert_eq!((track.points[0].lat, track.points[0].lon), (1e-5, -25.0));
        assert_eq!(track.points[1].time.timestamp_subsec_nanos(), 123_456_789);

        let crlf = gpx(&two_points()).replace('\n', "\r\n");
        assert_eq!(code(&crlf), Ok(2));

        let extensions = gpx(&format!(
            r#"<trkpt lat="1" lon="2"><time>2026-01-05T08:00:00Z</time><extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>120</gpxtpx:hr><time>1970-01-01T00:00:00Z</time></gpxtpx:TrackPointExtension></extensions></trkpt>{}"#,
            pt("1", "3", "2026-01-05T08:01:00Z")
        ));
        assert_eq!(code(&extensions), Ok(2));
    }

    #[test]
    fn joins_tracks_and_segments_in_time_order() {
        let text = format!(
            r#"<gpx><trk><trkseg>{}</trkseg></trk><trk><trkseg>{}</trkseg><trkseg>{}</trkseg></trk></gpx>"#,
            pt("1", "1", "2026-01-05T08:20:00Z"),
            pt("1", "2", "2026-01-05T08:00:00Z"),
            pt("1", "3", "2026-01-05T08:10:00Z"),
        );
        let lons: Vec<f64> = read(&text).unwrap().points.iter().map(|p| p.lon).collect();
        assert_eq!(lons, [2.0, 3.0, 1.0]);
    }

    /// OpenTracks' legacy export of a walk with one pause: a pause marker
    /// ends the first stretch, a resume marker starts the second.
    fn open_tracks(marker_lon: &str, pause_lat: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="OpenTracks" xmlns="http://www.topografix.com/GPX/1/1">
<trk><name>巡河</name><trkseg>{}{}{}{}{}{}</trkseg></trk></gpx>"#,
            pt("25.30", "103.10", "2026-01-05T08:00:00Z"),
            pt("25.31", "103.10", "2026-01-05T08:10:00Z"),
            pt(pause_lat, marker_lon, "2026-01-05T08:10:05Z"),
            pt("200.0", marker_lon, "2026-01-05T08:20:00Z"),
            pt("25.31", "103.11", "2026-01-05T08:20:05Z"),
            pt("25.32", "103.11", "2026-01-05T08:30:00Z"),
        )
    }

    #[test]
    fn open_tracks_pause_markers_are_segment_breaks() {
        let track = read(&open_tracks("0.0", "100.0")).unwrap();
        // The same walk written as two <trkseg>s reads the same.
        let two_segments = format!(
            "<gpx><trk><trkseg>{}{}</trkseg><trkseg>{}{}</trkseg></trk></gpx>",
            pt("25.30", "103.10", "2026-01-05T08:00:00Z"),
            pt("25.31", "103.10", "2026-01-05T08:10:00Z"),
            pt("25.31", "103.11", "2026-01-05T08:20:05Z"),
            pt("25.32", "103.11", "2026-01-05T08:30:00Z"),
        );
        assert_eq!(track, read(&two_segments).unwrap());
        assert_eq!(track.points.len(), 4);
        assert!(track.points.iter().all(|p| p.lat < 26.0));
        // The markers are recognised by value in any file, and other
        // latitudes off the globe are still refused, naming the point.
        let other_creator = open_tracks("0", "100").replace("OpenTracks", "GPSBabel");
        assert_eq!(code(&other_creator), Ok(4));
        for (lon, lat) in [("5.0", "100.0"), ("0.0", "95.0"), ("0.0", "100.5")] {
            let err = read(&open_tracks(lon, lat)).unwrap_err();
            assert_eq!(err.code(), "invalid_coordinates", "{lon} {lat}");
            assert!(
                err.to_string().starts_with("invalid coordinates: point 3:"),
                "{err}"
            );
        }
    }

    #[test]
    fn untimed_points_are_dropped_and_flagged() {
        let text = gpx(&(two_points() + r#"<trkpt lat="1" lon="2"></trkpt>"#));
        let track = read(&text).unwrap();
        assert_eq!(track.points.len(), 2);
        assert!(track.flags.contains(flag::POINTS_WITHOUT_TIME));
    }

    #[test]
    fn naive_times_are_utc_and_flagged() {
        let text =
            gpx(&(pt("1", "2", "2026-01-05T08:00:00") + &pt("1", "3", "2026-01-05T08:01:00")));
        let track = read(&text).unwrap();
        assert_eq!(
            track.points[0].time.to_rfc3339(),
            "2026-01-05T08:00:00+00:00"
        );
        assert!(track.flags.contains(flag::NAIVE_TIMES));
    }

    #[test]
    fn offsets_become_utc() {
        let text = gpx(&(pt("1", "2", "2026-01-05T08:00:00+08:00")
            + &pt("1", "3", "2026-01-05T08:00:00.5-01:30")));
        let track = read(&text).unwrap();
        let times: Vec<String> = track.points.iter().map(|p| p.time.to_rfc3339()).collect();
        assert_eq!(
            times,
            ["2026-01-05T00:00:00+00:00", "2026-01-05T09:30:00.500+00:00"]
        );
    }
}
