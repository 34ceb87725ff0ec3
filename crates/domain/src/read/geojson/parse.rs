//! Serde types for the parts of GeoJSON a track needs. Coordinates of any
//! depth are flattened into one list of positions while parsing, times into
//! one list of items, and each feature of a collection is reduced to a
//! [`Feature`] before the next is read.

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::fmt;

/// One position, `[lon, lat(, ele)]`; further values (M) are ignored.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Position {
    pub lon: f64,
    pub lat: f64,
    pub ele: Option<f64>,
}

/// One per-point time as written: text, a number, or null/absent.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum TimeItem {
    Missing,
    Text(Box<str>),
    Number(f64),
}

/// A feature reduced to what a track needs.
#[derive(Debug, PartialEq)]
pub(super) enum Feature {
    /// A LineString or MultiLineString: all positions, and the per-point
    /// times with the property name they came from.
    Line {
        positions: Vec<Position>,
        times: Option<(&'static str, Vec<TimeItem>)>,
    },
    /// A Point with its time property, if any.
    Point {
        position: Position,
        time: Option<TimeItem>,
    },
    /// Anything else; only whether it has coordinates matters.
    Other { has_coordinates: bool },
}

impl Feature {
    pub fn has_coordinates(&self) -> bool {
        match self {
            Feature::Line { positions, .. } => !positions.is_empty(),
            Feature::Point { .. } => true,
            Feature::Other { has_coordinates } => *has_coordinates,
        }
    }
}

/// A FeatureCollection, a Feature or a bare geometry: the members we use.
#[derive(Deserialize)]
pub(super) struct Document {
    #[serde(rename = "type")]
    kind: Option<String>,
    features: Option<Features>,
    geometry: Option<Geometry>,
    properties: Option<Properties>,
    coordinates: Option<Coordinates>,
    geometries: Option<Vec<Geometry>>,
}

impl Document {
    /// The document's features; `Err` carries an unknown or missing `type`.
    pub fn into_features(self) -> Result<Vec<Feature>, Option<String>> {
        match self.kind.as_deref() {
            Some("FeatureCollection") => Ok(self.features.map(|f| f.0).unwrap_or_default()),
            Some("Feature") => Ok(vec![feature(self.geometry, self.properties)]),
            Some(kind) if is_geometry(kind) => {
                let geometry = Geometry {
                    kind: self.kind,
                    coordinates: self.coordinates,
                    geometries: self.geometries,
                };
                Ok(vec![feature(Some(geometry), None)])
            }
            _ => Err(self.kind),
        }
    }
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

/// A feature of a collection, parsed and immediately reduced.
#[derive(Deserialize)]
struct RawFeature {
    geometry: Option<Geometry>,
    properties: Option<Properties>,
}

fn feature(geometry: Option<Geometry>, properties: Option<Properties>) -> Feature {
    let Some(geometry) = geometry else {
        return Feature::Other {
            has_coordinates: false,
        };
    };
    let props = properties.unwrap_or_default();
    let coords = geometry.coordinates.unwrap_or_default();
    match geometry.kind.as_deref() {
        Some("LineString" | "MultiLineString") => Feature::Line {
            positions: coords.positions,
            times: props.line_times(),
        },
        Some("Point") if coords.depth == 0 && coords.positions.len() == 1 => {
            let mut position = coords.positions[0];
            position.ele = position.ele.or_else(|| props.elevation());
            Feature::Point {
                position,
                time: props.point_time(),
            }
        }
        _ => {
            let nested = geometry
                .geometries
                .iter()
                .flatten()
                .any(Geometry::has_coordinates);
            Feature::Other {
                has_coordinates: !coords.positions.is_empty() || nested,
            }
        }
    }
}

#[derive(Deserialize)]
struct Geometry {
    #[serde(rename = "type")]
    kind: Option<String>,
    coordinates: Option<Coordinates>,
    geometries: Option<Vec<Geometry>>,
}

impl Geometry {
    fn has_coordinates(&self) -> bool {
        self.coordinates
            .as_ref()
            .is_some_and(|c| !c.positions.is_empty())
            || self
                .geometries
                .iter()
                .flatten()
                .any(Geometry::has_coordinates)
    }
}

/// The properties we read; all others are skipped unparsed.
#[derive(Deserialize, Default)]
struct Properties {
    #[serde(rename = "coordinateProperties")]
    coordinate_properties: Option<CoordinateProperties>,
    #[serde(rename = "coordTimes")]
    coord_times: Option<Times>,
    // A Point feature's time, in order of trust.
    time: Option<TimeItem>,
    timestamp: Option<TimeItem>,
    datetime: Option<TimeItem>,
    date_time: Option<TimeItem>,
    when: Option<TimeItem>,
    recorded_at: Option<TimeItem>,
    tracked_at: Option<TimeItem>,
    time_long: Option<TimeItem>,
    tst: Option<TimeItem>,
    // A Point feature's elevation in metres.
    altitude: Option<Value>,
    elevation: Option<Value>,
    ele: Option<Value>,
}

#[derive(Deserialize)]
struct CoordinateProperties {
    times: Option<Times>,
}

impl Properties {
    fn line_times(self) -> Option<(&'static str, Vec<TimeItem>)> {
        let nested = self.coordinate_properties.and_then(|c| c.times);
        match (nested, self.coord_times) {
            (Some(times), _) => Some(("coordinateProperties.times", times.0)),
            (None, Some(times)) => Some(("coordTimes", times.0)),
            (None, None) => None,
        }
    }

    fn point_time(self) -> Option<TimeItem> {
        [
            self.time,
            self.timestamp,
            self.datetime,
            self.date_time,
            self.when,
            self.recorded_at,
            self.tracked_at,
            self.time_long,
            self.tst,
        ]
        .into_iter()
        .flatten()
        .find(|t| *t != TimeItem::Missing)
    }

    fn elevation(&self) -> Option<f64> {
        [&self.altitude, &self.elevation, &self.ele]
            .into_iter()
            .flatten()
            .find_map(Value::as_f64)
    }
}

/// The features of a collection, each reduced as soon as it is parsed.
struct Features(Vec<Feature>);

impl<'de> Deserialize<'de> for Features {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FeaturesVisitor;
        impl<'de> Visitor<'de> for FeaturesVisitor {
            type Value = Features;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of features")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Features, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(raw) = seq.next_element::<RawFeature>()? {
                    out.push(feature(raw.geometry, raw.properties));
                }
                Ok(Features(out))
            }
        }
        d.deserialize_seq(FeaturesVisitor)
    }
}

/// Coordinates of any depth, flattened: `depth` 0 is a single position,
/// 1 a list of positions (LineString), 2 a list of lists, and so on.
#[derive(Default)]
struct Coordinates {
    positions: Vec<Position>,
    depth: u8,
}

impl<'de> Deserialize<'de> for Coordinates {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut positions = Vec::new();
        let depth = d.deserialize_seq(ArrayVisitor(&mut positions))?;
        Ok(Coordinates { positions, depth })
    }
}

/// Reads one array of the coordinates into the shared list and returns its
/// depth. The first element decides: a number starts a position.
struct ArrayVisitor<'v>(&'v mut Vec<Position>);

impl<'de> Visitor<'de> for ArrayVisitor<'_> {
    type Value = u8;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of coordinates")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u8, A::Error> {
        match seq.next_element_seed(ElementSeed(&mut *self.0))? {
            None => Ok(1),
            Some(Element::Number(first)) => {
                self.0.push(position(first, seq)?);
                Ok(0)
            }
            Some(Element::Array(depth)) => {
                while seq.next_element_seed(ArraySeed(&mut *self.0))?.is_some() {}
                Ok(depth.saturating_add(1))
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
        return Err(de::Error::custom("a position needs longitude and latitude"));
    }
    Ok(Position {
        lon: values[0],
        lat: values[1],
        ele: (count > 2).then_some(values[2]),
    })
}

/// A further element of an array of arrays: must be an array too.
struct ArraySeed<'v>(&'v mut Vec<Position>);

impl<'de> DeserializeSeed<'de> for ArraySeed<'_> {
    type Value = u8;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u8, D::Error> {
        d.deserialize_seq(ArrayVisitor(self.0))
    }
}

/// An element of a coordinates array: a number, or a nested array (already
/// read into the list; its depth is kept).
enum Element {
    Number(f64),
    Array(u8),
}

struct ElementSeed<'v>(&'v mut Vec<Position>);

impl<'de> DeserializeSeed<'de> for ElementSeed<'_> {
    type Value = Element;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Element, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ElementSeed<'_> {
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
        ArrayVisitor(self.0).visit_seq(seq).map(Element::Array)
    }
}

/// Per-point times: an array of items, or of arrays of items (one per line
/// of a MultiLineString), flattened in order.
struct Times(Vec<TimeItem>);

impl<'de> Deserialize<'de> for Times {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut items = Vec::new();
        d.deserialize_seq(TimesVisitor(&mut items))?;
        Ok(Times(items))
    }
}

struct TimesVisitor<'v>(&'v mut Vec<TimeItem>);

impl<'de> Visitor<'de> for TimesVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of times")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element_seed(TimeSeed(&mut *self.0))? {
            if let Some(item) = item {
                self.0.push(item);
            }
        }
        Ok(())
    }
}

/// One element of a times array: an item (returned) or a nested array
/// (pushed into the shared list, `None` returned).
struct TimeSeed<'v>(&'v mut Vec<TimeItem>);

impl<'de> DeserializeSeed<'de> for TimeSeed<'_> {
    type Value = Option<TimeItem>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TimeSeed<'_> {
    type Value = Option<TimeItem>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a time (text, number or null) or an array of times")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        TimesVisitor(self.0).visit_seq(seq).map(|()| None)
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(TimeItem::Text(v.into())))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(TimeItem::Number(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(TimeItem::Number(v as f64)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(TimeItem::Number(v as f64)))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Some(TimeItem::Missing))
    }
}

impl<'de> Deserialize<'de> for TimeItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TimeItemVisitor)
    }
}

/// A single time: text or a number; null is "no time". Objects, arrays and
/// booleans are refused with a message naming what was expected.
struct TimeItemVisitor;

impl<'de> Visitor<'de> for TimeItemVisitor {
    type Value = TimeItem;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a time as ISO 8601 text, epoch number or null")
    }

    fn visit_str<E>(self, v: &str) -> Result<TimeItem, E> {
        Ok(TimeItem::Text(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<TimeItem, E> {
        Ok(TimeItem::Number(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<TimeItem, E> {
        Ok(TimeItem::Number(v as f64))
    }

    fn visit_u64<E>(self, v: u64) -> Result<TimeItem, E> {
        Ok(TimeItem::Number(v as f64))
    }

    fn visit_unit<E>(self) -> Result<TimeItem, E> {
        Ok(TimeItem::Missing)
    }

    // An object or array under a time key of a Point (e.g. an app's own
    // `time: {…}` structure) is not a time; skip it rather than fail.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TimeItem, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(TimeItem::Missing)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TimeItem, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(TimeItem::Missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coords(text: &str) -> (Vec<(f64, f64, Option<f64>)>, u8) {
        let c: Coordinates = serde_json::from_str(text).unwrap();
        (
            c.positions.iter().map(|p| (p.lon, p.lat, p.ele)).collect(),
            c.depth,
        )
    }

    #[test]
    fn coordinates_are_flattened() {
        assert_eq!(coords("[1, 2]"), (vec![(1.0, 2.0, None)], 0));
        assert_eq!(
            coords("[[1, 2, 3, 4], [5.5, -6]]"),
            (vec![(1.0, 2.0, Some(3.0)), (5.5, -6.0, None)], 1)
        );
        assert_eq!(coords("[[[1, 2]], [[3, 4], [5, 6]]]").0.len(), 3);
        assert_eq!(coords("[]"), (vec![], 1));
        for bad in ["[1]", "[1, [2, 3]]", "[[1, 2], 3]", "[null, 1]", "{}", "1"] {
            assert!(serde_json::from_str::<Coordinates>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_are_flattened() {
        let t: Times = serde_json::from_str(r#"[["a", 1], [null], "b", 2.5]"#).unwrap();
        let expected = [
            TimeItem::Text("a".into()),
            TimeItem::Number(1.0),
            TimeItem::Missing,
            TimeItem::Text("b".into()),
            TimeItem::Number(2.5),
        ];
        assert_eq!(t.0, expected);
        assert!(serde_json::from_str::<Times>(r#"[{"a": 1}]"#).is_err());
    }
}
