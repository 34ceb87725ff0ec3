//! GeoJSON reader: lines with per-point times, as togeojson and many apps
//! write them, or a FeatureCollection of timed Points, as phone loggers
//! (GPSLogger, OwnTracks exports, trackintel) write them.
//!
//! Rules, in order of precedence:
//! 1. Line features (LineString / MultiLineString) whose properties hold
//!    per-point times in `coordinateProperties.times` (@tmcw/togeojson 7) or
//!    `coordTimes` (@mapbox/togeojson and apps): the times are flattened in
//!    order (an array, or one array per line of a MultiLineString) and paired
//!    with the flattened positions; different counts → `malformed_track`.
//!    Every timed line feature is used, joined in time order; a `null` time,
//!    or a line feature without times next to timed ones, is a point without
//!    time (left out, flag `points_without_time`).
//! 2. Otherwise Point features with a time in `properties`: the first of
//!    `time`, `timestamp`, `datetime`, `date_time`, `when`, `recorded_at`,
//!    `tracked_at`, `time_long`, `tst` that is present. Text is ISO 8601 (or
//!    all digits: epoch); a number is epoch seconds, or milliseconds from
//!    1e11 on. Elevation is the third coordinate, else `altitude`,
//!    `elevation` or `ele`.
//! 3. Geometry with coordinates but no usable times → `no_timestamps`;
//!    no geometry → `no_track`. Not JSON, or JSON without a GeoJSON `type`
//!    → `malformed_track`.
//!
//! Memory: each feature is reduced to its positions and times as soon as it
//! is parsed (`parse.rs`), so a 20 MiB FeatureCollection never exists as a
//! tree of JSON values.

use super::ReadError;
use super::build::{TrackBuilder, check_position};
use super::timestamp::{Stamp, parse_epoch, parse_time};
use crate::track::Track;
use parse::{Document, Feature, Position, TimeItem};

mod parse;

/// Reads a GeoJSON document.
pub(crate) fn read(text: &str) -> Result<Track, ReadError> {
    let doc: Document = serde_json::from_str(text)
        .map_err(|e| ReadError::Malformed(format!("not valid GeoJSON: {e}")))?;
    let features = doc.into_features().map_err(|kind| {
        ReadError::Malformed(format!(
            "not GeoJSON: expected \"type\": \"FeatureCollection\", \"Feature\" or a \
             geometry, found {kind:?}"
        ))
    })?;
    from_features(features)
}

/// Applies the precedence rules of the module documentation.
fn from_features(features: Vec<Feature>) -> Result<Track, ReadError> {
    let timed_line = |f: &Feature| matches!(f, Feature::Line { times: Some(_), .. });
    if features.iter().any(timed_line) {
        return from_lines(features);
    }
    let timed_point = |f: &Feature| matches!(f, Feature::Point { time: Some(_), .. });
    if features.iter().any(timed_point) {
        return from_points(features);
    }
    if features.iter().any(Feature::has_coordinates) {
        return Err(ReadError::NoTimestamps);
    }
    Err(ReadError::NoTrack)
}

/// Takes the features by value and frees each line's positions and times
/// once its points are in the builder, which is sized up front: with one
/// big line, the builder's growth and the final sort would otherwise come
/// on top of the parsed positions and times (3.4× a 20 MiB file, now 2.6×).
fn from_lines(features: Vec<Feature>) -> Result<Track, ReadError> {
    let total: usize = features
        .iter()
        .map(|f| match f {
            Feature::Line { positions, .. } => positions.len(),
            _ => 0,
        })
        .sum();
    let lines = features.into_iter().filter_map(|f| match f {
        Feature::Line { positions, times } => Some((positions, times)),
        _ => None,
    });
    let mut builder = TrackBuilder::with_capacity(total);
    for (i, (positions, times)) in lines.enumerate() {
        match times {
            Some((key, times)) if times.len() != positions.len() => {
                return Err(ReadError::Malformed(format!(
                    "line feature {} has {} positions but {} times in properties.{key}",
                    i + 1,
                    positions.len(),
                    times.len()
                )));
            }
            Some((_, times)) => {
                for (pos, time) in positions.into_iter().zip(&times) {
                    push(&mut builder, pos, time)?;
                }
            }
            None => {
                for pos in positions {
                    push(&mut builder, pos, &TimeItem::Missing)?;
                }
            }
        }
    }
    builder.finish()
}

fn from_points(features: Vec<Feature>) -> Result<Track, ReadError> {
    let mut builder = TrackBuilder::with_capacity(features.len());
    for feature in features {
        if let Feature::Point { position, time } = feature {
            push(
                &mut builder,
                position,
                time.as_ref().unwrap_or(&TimeItem::Missing),
            )?;
        }
    }
    builder.finish()
}

fn push(builder: &mut TrackBuilder, pos: Position, time: &TimeItem) -> Result<(), ReadError> {
    let no = builder.next_point_no();
    check_position(pos.lon, pos.lat, no)?;
    let stamp = stamp(time, no)?;
    builder.push(pos.lon, pos.lat, pos.ele, stamp);
    Ok(())
}

/// ISO 8601 text, epoch digits or number, or nothing.
fn stamp(time: &TimeItem, no: usize) -> Result<Option<Stamp>, ReadError> {
    match time {
        TimeItem::Missing => Ok(None),
        TimeItem::Text(s) if s.trim().is_empty() => Ok(None),
        TimeItem::Text(s) if s.trim().bytes().all(|b| b.is_ascii_digit()) => {
            let n: f64 = s.trim().parse().unwrap_or(f64::NAN);
            parse_epoch(n, no).map(Some)
        }
        TimeItem::Text(s) => parse_time(s, no).map(Some),
        TimeItem::Number(n) => parse_epoch(*n, no).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::flag;
    use serde_json::{Value, json};

    fn outcome(doc: &Value) -> Result<usize, &'static str> {
        read(&doc.to_string())
            .map(|t| t.points.len())
            .map_err(|e| e.code())
    }

    fn line(coords: Value, props: Value) -> Value {
        json!({"type": "Feature", "geometry": {"type": "LineString", "coordinates": coords}, "properties": props})
    }

    fn point(coords: Value, props: Value) -> Value {
        json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": coords}, "properties": props})
    }

    fn collection(features: Vec<Value>) -> Value {
        json!({"type": "FeatureCollection", "features": features})
    }

    const T0: &str = "2026-01-05T08:00:00Z";
    const T1: &str = "2026-01-05T08:00:10Z";

    #[test]
    fn outcomes() {
        let xy = json!([[103.1, 25.3], [103.2, 25.3, 1800]]);
        let multi = json!({"type": "Feature", "geometry": {"type": "MultiLineString",
            "coordinates": [[[103.1, 25.3], [103.2, 25.3]], [[103.3, 25.3]]]},
            "properties": {"coordTimes": [[T0, T1], ["2026-01-05T08:00:20Z"]]}});
        let cases: Vec<(&str, Value, Result<usize, &str>)> = vec![
            (
                "togeojson 7",
                line(
                    xy.clone(),
                    json!({"coordinateProperties": {"times": [T0, T1]}}),
                ),
                Ok(2),
            ),
            (
                "coordTimes",
                line(xy.clone(), json!({"coordTimes": [T0, T1]})),
                Ok(2),
            ),
            ("multilinestring", multi, Ok(3)),
            (
                "epoch ms times",
                line(
                    xy.clone(),
                    json!({"coordTimes": [1_767_600_000_000_i64, 1_767_600_010_000_i64]}),
                ),
                Ok(2),
            ),
            (
                "line without times",
                line(xy.clone(), json!({"name": "x"})),
                Err("no_timestamps"),
            ),
            (
                "line, null properties",
                line(xy.clone(), Value::Null),
                Err("no_timestamps"),
            ),
            (
                "bare geometry",
                json!({"type": "LineString", "coordinates": [[1, 2], [3, 4]]}),
                Err("no_timestamps"),
            ),
            (
                "count mismatch",
                line(xy.clone(), json!({"coordTimes": [T0]})),
                Err("malformed_track"),
            ),
            (
                "timed points",
                collection(vec![
                    point(json!([1, 2]), json!({"time": T0})),
                    point(json!([1, 3]), json!({"time": T1})),
                ]),
                Ok(2),
            ),
            (
                "one timed point",
                collection(vec![point(json!([1, 2]), json!({"time": T0}))]),
                Err("too_few_points"),
            ),
            (
                "untimed points",
                collection(vec![
                    point(json!([1, 2]), json!({})),
                    point(json!([1, 3]), json!({})),
                ]),
                Err("no_timestamps"),
            ),
            ("empty collection", collection(vec![]), Err("no_track")),
            (
                "null geometry",
                collection(vec![
                    json!({"type": "Feature", "geometry": null, "properties": {}}),
                ]),
                Err("no_track"),
            ),
            (
                "lat 95",
                line(json!([[1, 95], [1, 2]]), json!({"coordTimes": [T0, T1]})),
                Err("invalid_coordinates"),
            ),
            (
                "1970",
                line(
                    xy.clone(),
                    json!({"coordTimes": ["1970-01-01T00:00:00Z", T1]}),
                ),
                Err("invalid_timestamp"),
            ),
            (
                "not geojson",
                json!({"hello": "world"}),
                Err("malformed_track"),
            ),
            ("array", json!([1, 2]), Err("malformed_track")),
            (
                "bad position",
                line(json!([[1], [2, 3]]), json!({})),
                Err("malformed_track"),
            ),
        ];
        for (name, doc, expected) in cases {
            assert_eq!(outcome(&doc), expected, "{name}");
        }
    }

    #[test]
    fn invalid_json_is_malformed() {
        for text in ["", "{", "{\"type\": \"Feature\",}", "<gpx/>"] {
            assert_eq!(
                read(text).unwrap_err().code(),
                "malformed_track",
                "{text:?}"
            );
        }
    }

    #[test]
    fn point_time_names_and_elevation() {
        let features = vec![
            point(
                json!([13.405, 52.52, 34.0]),
                json!({"datetime": "2024-06-15T10:30:00Z"}),
            ),
            point(
                json!([13.406, 52.521]),
                json!({"when": "2024-06-15T10:31:00Z", "altitude": 35.5}),
            ),
            point(
                json!([13.407, 52.522]),
                json!({"recorded_at": "2024-06-15T10:32:00+02:00"}),
            ),
            point(
                json!([13.408, 52.523]),
                json!({"time_long": 1_718_447_580_000_i64}),
            ),
            point(json!([13.409, 52.524]), json!({"tst": 1_718_447_640})),
            point(json!([13.410, 52.525]), json!({"tracked_at": "1718447700"})),
            point(json!([13.411, 52.526]), json!({"speed": 1.0})),
        ];
        let track = read(&collection(features).to_string()).unwrap();
        assert_eq!(track.points.len(), 6);
        let secs: Vec<i64> = track
            .points
            .iter()
            .map(|p| p.time.timestamp() - 1_718_447_400)
            .collect();
        assert_eq!(secs, [-7080, 0, 60, 180, 240, 300]);
        let eles: Vec<Option<f64>> = track.points.iter().map(|p| p.ele).collect();
        assert_eq!(eles, [None, Some(34.0), Some(35.5), None, None, None]);
        assert!(track.flags.contains(flag::POINTS_WITHOUT_TIME));
    }

    #[test]
    fn lines_win_over_points_and_join() {
        let features = vec![
            point(json!([0, 0]), json!({"time": "2026-01-05T07:00:00Z"})),
            line(
                json!([[1, 1], [1, 2]]),
                json!({"coordTimes": ["2026-01-05T09:00:00Z", "2026-01-05T09:00:10Z"]}),
            ),
            line(json!([[2, 1], [2, 2]]), json!({"coordTimes": [T0, T1]})),
            line(json!([[3, 1]]), json!({})),
        ];
        let track = read(&collection(features).to_string()).unwrap();
        let lons: Vec<f64> = track.points.iter().map(|p| p.lon).collect();
        assert_eq!(lons, [2.0, 2.0, 1.0, 1.0]);
        assert!(track.flags.contains(flag::POINTS_WITHOUT_TIME));
    }

    #[test]
    fn null_times_are_untimed_points() {
        let doc = line(
            json!([[1, 1], [1, 2], [1, 3]]),
            json!({"coordTimes": [T0, null, T1]}),
        );
        let track = read(&doc.to_string()).unwrap();
        assert_eq!(track.points.len(), 2);
        assert!(track.flags.contains(flag::POINTS_WITHOUT_TIME));
    }
}
