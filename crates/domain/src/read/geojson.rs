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
//! Only the needed members are kept while parsing; coordinates go straight
//! into compact positions.

use super::ReadError;
use super::build::{TrackBuilder, check_position};
use super::timestamp::{Stamp, parse_epoch, parse_time};
use crate::track::Track;
use serde::Deserialize;
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// Property names that may hold a Point feature's time, in order of trust.
const POINT_TIME_KEYS: [&str; 9] = [
    "time",
    "timestamp",
    "datetime",
    "date_time",
    "when",
    "recorded_at",
    "tracked_at",
    "time_long",
    "tst",
];
/// Property names that may hold a Point feature's elevation in metres.
const POINT_ELE_KEYS: [&str; 3] = ["altitude", "elevation", "ele"];

/// A FeatureCollection, a Feature or a bare geometry: the members we use.
#[derive(Deserialize)]
struct Object {
    #[serde(rename = "type")]
    kind: Option<String>,
    features: Option<Vec<Object>>,
    geometry: Option<Geometry>,
    properties: Option<Map<String, Value>>,
    coordinates: Option<Coords>,
    geometries: Option<Vec<Geometry>>,
}

#[derive(Deserialize)]
struct Geometry {
    #[serde(rename = "type")]
    kind: Option<String>,
    coordinates: Option<Coords>,
    geometries: Option<Vec<Geometry>>,
}

/// One position, `[lon, lat(, ele)]`; further values (M) are ignored.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Position {
    lon: f64,
    lat: f64,
    ele: Option<f64>,
}

/// Coordinates of any nesting depth.
#[derive(Debug, PartialEq)]
enum Coords {
    Position(Position),
    Nested(Vec<Coords>),
}

/// Reads a GeoJSON document.
pub(crate) fn read(text: &str) -> Result<Track, ReadError> {
    let doc: Object = serde_json::from_str(text)
        .map_err(|e| ReadError::Malformed(format!("not valid GeoJSON: {e}")))?;
    let features = match doc.kind.as_deref() {
        Some("FeatureCollection") => doc.features.unwrap_or_default(),
        Some("Feature") => vec![doc],
        Some(kind) if is_geometry(kind) => {
            let geometry = Geometry {
                kind: doc.kind,
                coordinates: doc.coordinates,
                geometries: doc.geometries,
            };
            vec![Object {
                kind: None,
                features: None,
                geometry: Some(geometry),
                properties: None,
                coordinates: None,
                geometries: None,
            }]
        }
        other => {
            return Err(ReadError::Malformed(format!(
                "not GeoJSON: expected \"type\": \"FeatureCollection\", \"Feature\" or a geometry, found {other:?}"
            )));
        }
    };
    from_features(&features)
}

fn is_geometry(kind: &str) -> bool {
    matches!(
        kind,
        "Point"
            | "MultiPoint"
            | "LineString"
            | "MultiLineString"
            | "Polygon"
            | "MultiPolygon"
            | "GeometryCollection"
    )
}

fn from_features(features: &[Object]) -> Result<Track, ReadError> {
    let lines: Vec<&Object> = features
        .iter()
        .filter(|f| matches!(kind_of(f), "LineString" | "MultiLineString"))
        .collect();
    if lines.iter().any(|f| line_times(f).is_some()) {
        return from_lines(&lines);
    }
    let points: Vec<&Object> = features.iter().filter(|f| kind_of(f) == "Point").collect();
    if points.iter().any(|f| point_time(f).is_some()) {
        return from_points(&points);
    }
    if features
        .iter()
        .any(|f| f.geometry.as_ref().is_some_and(has_coordinates))
    {
        return Err(ReadError::NoTimestamps);
    }
    Err(ReadError::NoTrack)
}

fn kind_of(feature: &Object) -> &str {
    feature
        .geometry
        .as_ref()
        .and_then(|g| g.kind.as_deref())
        .unwrap_or("")
}

fn from_lines(lines: &[&Object]) -> Result<Track, ReadError> {
    let mut builder = TrackBuilder::default();
    for (i, feature) in lines.iter().enumerate() {
        let mut positions = Vec::new();
        if let Some(coords) = feature
            .geometry
            .as_ref()
            .and_then(|g| g.coordinates.as_ref())
        {
            coords.flatten_into(&mut positions);
        }
        let times = match line_times(feature) {
            Some((key, times)) => flat_times(times, positions.len(), key, i + 1)?,
            None => vec![&Value::Null; positions.len()],
        };
        for (pos, time) in positions.iter().zip(times) {
            push(&mut builder, *pos, time)?;
        }
    }
    builder.finish()
}

fn from_points(points: &[&Object]) -> Result<Track, ReadError> {
    let mut builder = TrackBuilder::default();
    for feature in points {
        let coords = feature
            .geometry
            .as_ref()
            .and_then(|g| g.coordinates.as_ref());
        let Some(&Coords::Position(mut pos)) = coords else {
            continue;
        };
        if pos.ele.is_none() {
            pos.ele = properties_number(feature, &POINT_ELE_KEYS);
        }
        push(
            &mut builder,
            pos,
            point_time(feature).unwrap_or(&Value::Null),
        )?;
    }
    builder.finish()
}

fn push(builder: &mut TrackBuilder, pos: Position, time: &Value) -> Result<(), ReadError> {
    let no = builder.next_point_no();
    check_position(pos.lon, pos.lat, no)?;
    let stamp = time_value(time, no)?;
    builder.push(pos.lon, pos.lat, pos.ele, stamp);
    Ok(())
}

/// The per-point times of a line feature and the name they were found under.
fn line_times(feature: &Object) -> Option<(&'static str, &Vec<Value>)> {
    let props = feature.properties.as_ref()?;
    let nested = props
        .get("coordinateProperties")
        .and_then(|c| c.get("times"));
    match (nested, props.get("coordTimes")) {
        (Some(Value::Array(times)), _) => Some(("coordinateProperties.times", times)),
        (_, Some(Value::Array(times))) => Some(("coordTimes", times)),
        _ => None,
    }
}

/// Times flattened one level (one array per line of a MultiLineString).
fn flat_times<'v>(
    times: &'v [Value],
    count: usize,
    key: &str,
    feature: usize,
) -> Result<Vec<&'v Value>, ReadError> {
    let flat: Vec<&Value> = times
        .iter()
        .flat_map(|t| match t {
            Value::Array(inner) => inner.iter().collect(),
            other => vec![other],
        })
        .collect();
    if flat.len() != count {
        return Err(ReadError::Malformed(format!(
            "line feature {feature} has {count} positions but {} times in properties.{key}",
            flat.len()
        )));
    }
    Ok(flat)
}

fn point_time(feature: &Object) -> Option<&Value> {
    let props = feature.properties.as_ref()?;
    POINT_TIME_KEYS
        .iter()
        .filter_map(|k| props.get(*k))
        .find(|v| !v.is_null())
}

fn properties_number(feature: &Object, keys: &[&str]) -> Option<f64> {
    let props = feature.properties.as_ref()?;
    keys.iter()
        .find_map(|k| props.get(*k).and_then(Value::as_f64))
}

/// A time value: ISO 8601 text, epoch digits or number, or null (no time).
fn time_value(value: &Value, no: usize) -> Result<Option<Stamp>, ReadError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) if s.trim().bytes().all(|b| b.is_ascii_digit()) => {
            let n: f64 = s.trim().parse().unwrap_or(f64::NAN);
            parse_epoch(n, no).map(Some)
        }
        Value::String(s) => parse_time(s, no).map(Some),
        Value::Number(n) => parse_epoch(n.as_f64().unwrap_or(f64::NAN), no).map(Some),
        other => Err(ReadError::InvalidTimestamp(format!(
            "point {no}: time {other} is neither text nor a number"
        ))),
    }
}

fn has_coordinates(geometry: &Geometry) -> bool {
    let mut positions = Vec::new();
    if let Some(c) = &geometry.coordinates {
        c.flatten_into(&mut positions);
    }
    !positions.is_empty() || geometry.geometries.iter().flatten().any(has_coordinates)
}

impl Coords {
    fn flatten_into(&self, out: &mut Vec<Position>) {
        match self {
            Coords::Position(p) => out.push(*p),
            Coords::Nested(items) => items.iter().for_each(|c| c.flatten_into(out)),
        }
    }
}

impl<'de> Deserialize<'de> for Coords {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(CoordsVisitor)
    }
}

/// Decides by the first element: a number starts a position, an array a list.
struct CoordsVisitor;

impl<'de> Visitor<'de> for CoordsVisitor {
    type Value = Coords;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of coordinates")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Coords, A::Error> {
        match seq.next_element::<Element>()? {
            None => Ok(Coords::Nested(Vec::new())),
            Some(Element::Number(first)) => position(first, seq).map(Coords::Position),
            Some(Element::Coords(first)) => {
                let mut items = vec![first];
                while let Some(next) = seq.next_element::<Coords>()? {
                    items.push(next);
                }
                Ok(Coords::Nested(items))
            }
        }
    }
}

fn position<'de, A: SeqAccess<'de>>(first: f64, mut seq: A) -> Result<Position, A::Error> {
    let mut values = [first, 0.0, 0.0];
    let mut count = 1;
    while let Some(v) = seq.next_element::<f64>()? {
        if count < 3 {
            values[count] = v;
        }
        count += 1;
    }
    if count < 2 {
        return Err(serde::de::Error::custom(
            "a position needs longitude and latitude",
        ));
    }
    Ok(Position {
        lon: values[0],
        lat: values[1],
        ele: (count > 2).then_some(values[2]),
    })
}

/// An element of a coordinates array: a number or a nested array.
enum Element {
    Number(f64),
    Coords(Coords),
}

impl<'de> Deserialize<'de> for Element {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ElementVisitor)
    }
}

struct ElementVisitor;

impl<'de> Visitor<'de> for ElementVisitor {
    type Value = Element;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number or an array of coordinates")
    }

    fn visit_f64<E>(self, v: f64) -> Result<Element, E> {
        Ok(Element::Number(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Element, E> {
        Ok(Element::Number(v as f64))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Element, E> {
        Ok(Element::Number(v as f64))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Element, A::Error> {
        CoordsVisitor.visit_seq(seq).map(Element::Coords)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::flag;
    use serde_json::json;

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

    #[test]
    fn coordinates_of_any_depth() {
        let c: Coords = serde_json::from_str("[[[1, 2, 3, 4]], [[5, 6]]]").unwrap();
        let mut flat = Vec::new();
        c.flatten_into(&mut flat);
        assert_eq!(
            flat,
            [
                Position {
                    lon: 1.0,
                    lat: 2.0,
                    ele: Some(3.0)
                },
                Position {
                    lon: 5.0,
                    lat: 6.0,
                    ele: None
                }
            ]
        );
    }
}
