//! KML reader: `gx:Track` (KML 2.2 + Google extension) and `Track` (OGC KML
//! 2.3), alone or inside a `MultiTrack`, or else Placemarks whose geometry is
//! one `Point` with a `<TimeStamp><when>`. Names are matched without prefix.
//!
//! Rules, in order of precedence:
//! 1. Tracks: inside each `Track`, the n-th `<when>` belongs to the n-th
//!    `<coord>` wherever they stand (all whens first, or interleaved blocks;
//!    KML only requires equal counts). An empty `<coord/>` is a pause mark
//!    (OpenTracks): it and its `<when>` are skipped. Different counts of
//!    `<when>` and `<coord>` → `malformed_track`: pairing them anyway could
//!    shift every time. All tracks of the file are joined in time order.
//! 2. Without track points: Placemarks each with one `Point` and a
//!    `TimeStamp` are a track, like a GeoJSON FeatureCollection of timed
//!    Points. `TimeSpan` is a stay, not a fix, and does not time a point;
//!    Points in a `MultiGeometry` share one time and do not count either.
//! 3. `Track` elements with no coordinates at all → `too_few_points`.
//! 4. Other geometry with coordinates (LineString, Polygon, untimed Points,
//!    a LineString with one TimeStamp) → `no_timestamps`. KML has no
//!    standard way to time the vertices of a LineString, so none is guessed.
//! 5. No geometry → `no_track`.

use super::ReadError;
use super::build::{TrackBuilder, check_position, parse_f64, parse_number};
use super::timestamp::parse_time;
use super::xml::{Handler, stream};
use crate::track::Track;
use quick_xml::events::{BytesStart, BytesText};
use std::borrow::Cow;

/// The elements whose position in the tree matters to the reader.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tag {
    Placemark,
    Track,
    TimeStamp,
    Point,
    Other,
}

/// What the next text belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Capture {
    TrackWhen,
    TrackCoord,
    PlacemarkWhen,
    PointCoordinates,
    OtherCoordinates,
}

/// `<when>` and `<coord>` texts of the `Track` being read.
#[derive(Default)]
struct OpenTrack<'a> {
    whens: Vec<Cow<'a, str>>,
    coords: Vec<Cow<'a, str>>,
}

/// A Placemark's `TimeStamp/when` and `Point/coordinates` texts. Kept until
/// the end of the file, and used only if there are no tracks.
#[derive(Default)]
struct PlacemarkPoint<'a> {
    when: Option<Cow<'a, str>>,
    coordinates: Option<Cow<'a, str>>,
}

#[derive(Default)]
struct Reader<'a> {
    stack: Vec<Tag>,
    capture: Option<Capture>,
    tracks: TrackBuilder,
    track_count: usize,
    open_track: Option<OpenTrack<'a>>,
    placemark: Option<PlacemarkPoint<'a>>,
    placemark_points: Vec<PlacemarkPoint<'a>>,
    has_geometry: bool,
}

/// Reads a KML document.
pub(crate) fn read(text: &str) -> Result<Track, ReadError> {
    let mut reader = Reader::default();
    stream(text, "kml", &mut reader)?;
    reader.finish()
}

impl<'a> Handler<'a> for Reader<'a> {
    fn open(&mut self, e: &BytesStart<'a>, _depth: usize) -> Result<(), ReadError> {
        self.open_element(e.local_name().as_ref());
        Ok(())
    }

    fn text(&mut self, text: BytesText<'a>) -> Result<(), ReadError> {
        if self.capture.is_some() {
            self.capture_text(text.into_inner());
        }
        Ok(())
    }

    fn close(&mut self, _depth: usize) -> Result<(), ReadError> {
        self.close_element()
    }
}

impl<'a> Reader<'a> {
    fn parent(&self, up: usize) -> Option<Tag> {
        self.stack.len().checked_sub(up + 1).map(|i| self.stack[i])
    }

    fn open_element(&mut self, name: &str) {
        let (parent, grandparent) = (self.parent(0), self.parent(1));
        let tag = match name {
            "Placemark" => {
                self.placemark = Some(PlacemarkPoint::default());
                Tag::Placemark
            }
            "Track" => {
                self.track_count += 1;
                self.open_track = Some(OpenTrack::default());
                Tag::Track
            }
            "TimeStamp" => Tag::TimeStamp,
            "Point" => Tag::Point,
            _ => Tag::Other,
        };
        self.capture = match (name, parent, grandparent) {
            ("when", Some(Tag::Track), _) => Some(Capture::TrackWhen),
            ("coord", Some(Tag::Track), _) => Some(Capture::TrackCoord),
            ("when", Some(Tag::TimeStamp), Some(Tag::Placemark)) => Some(Capture::PlacemarkWhen),
            ("coordinates", Some(Tag::Point), Some(Tag::Placemark)) => {
                Some(Capture::PointCoordinates)
            }
            ("coordinates", ..) => Some(Capture::OtherCoordinates),
            _ => None,
        };
        // Every <when>/<coord> counts, even an empty one, so pairs stay aligned.
        if let Some(track) = &mut self.open_track {
            match self.capture {
                Some(Capture::TrackWhen) => track.whens.push(Cow::Borrowed("")),
                Some(Capture::TrackCoord) => track.coords.push(Cow::Borrowed("")),
                _ => {}
            }
        }
        self.stack.push(tag);
    }

    fn capture_text(&mut self, text: Cow<'a, str>) {
        if text.trim().is_empty() {
            return;
        }
        match (self.capture, &mut self.open_track, &mut self.placemark) {
            (Some(Capture::TrackWhen), Some(track), _) => set_last(&mut track.whens, text),
            (Some(Capture::TrackCoord), Some(track), _) => set_last(&mut track.coords, text),
            (Some(Capture::PlacemarkWhen), _, Some(pm)) => pm.when = Some(text),
            (Some(Capture::PointCoordinates), _, Some(pm)) => pm.coordinates = Some(text),
            (Some(Capture::OtherCoordinates), ..) => self.has_geometry = true,
            _ => {}
        }
    }

    fn close_element(&mut self) -> Result<(), ReadError> {
        self.capture = None;
        match self.stack.pop() {
            Some(Tag::Track) => {
                let track = self.open_track.take().unwrap_or_default();
                self.pair_track(track)?;
            }
            Some(Tag::Placemark) => {
                let placemark = self.placemark.take();
                if let Some(p) = placemark.filter(|p| p.coordinates.is_some()) {
                    self.placemark_points.push(p);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Pairs the n-th `<when>` with the n-th `<coord>`, skipping pause marks.
    fn pair_track(&mut self, track: OpenTrack<'a>) -> Result<(), ReadError> {
        let OpenTrack { whens, coords } = track;
        if whens.len() != coords.len() {
            return Err(ReadError::Malformed(format!(
                "track {} has {} <when> but {} <coord> elements; KML needs exactly one \
                 <when> per <coord>",
                self.track_count,
                whens.len(),
                coords.len()
            )));
        }
        for (when, coord) in whens.iter().zip(&coords) {
            if coord.trim().is_empty() {
                continue;
            }
            self.has_geometry = true;
            push_point(&mut self.tracks, coord, Some(when))?;
        }
        Ok(())
    }

    fn finish(self) -> Result<Track, ReadError> {
        let timed_points = self.placemark_points.iter().any(|p| p.when.is_some());
        if self.tracks.seen() > 0 {
            self.tracks.finish()
        } else if timed_points {
            let mut builder = TrackBuilder::default();
            for p in &self.placemark_points {
                let coordinates = p.coordinates.as_deref().unwrap_or_default();
                push_point(&mut builder, coordinates, p.when.as_deref())?;
            }
            builder.finish()
        } else if self.track_count > 0 {
            Err(ReadError::TooFewPoints)
        } else if self.has_geometry || !self.placemark_points.is_empty() {
            Err(ReadError::NoTimestamps)
        } else {
            Err(ReadError::NoTrack)
        }
    }
}

/// Fills the slot that the element's `open` reserved.
fn set_last<'a>(slots: &mut [Cow<'a, str>], text: Cow<'a, str>) {
    if let Some(slot) = slots.last_mut() {
        *slot = text;
    }
}

/// Parses "lon lat [alt]" (`<coord>`) or "lon,lat[,alt]" (`<coordinates>`)
/// and an optional time into the builder.
fn push_point(
    builder: &mut TrackBuilder,
    coord: &str,
    when: Option<&str>,
) -> Result<(), ReadError> {
    let no = builder.next_point_no();
    let mut parts = coord
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty());
    let (Some(lon), Some(lat), ele, None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::InvalidCoordinates(format!(
            "point {no}: expected \"longitude latitude [altitude]\", found {:?}",
            coord.trim()
        )));
    };
    let lon = parse_number(lon, "longitude", no)?;
    let lat = parse_number(lat, "latitude", no)?;
    check_position(lon, lat, no)?;
    let ele = ele.and_then(parse_f64);
    let stamp = match when.map(str::trim).filter(|w| !w.is_empty()) {
        Some(w) => Some(parse_time(w, no)?),
        None => None,
    };
    builder.push(lon, lat, ele, stamp);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::flag;

    fn kml(body: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">
<Document>{body}</Document></kml>"#
        )
    }

    fn placemark(when: &str, coordinates: &str) -> String {
        format!(
            "<Placemark><TimeStamp><when>{when}</when></TimeStamp>\
             <Point><coordinates>{coordinates}</coordinates></Point></Placemark>"
        )
    }

    fn outcome(text: &str) -> Result<usize, &'static str> {
        read(text).map(|t| t.points.len()).map_err(|e| e.code())
    }

    const GX_TRACK: &str = "<Placemark><gx:Track>\
        <when>2026-01-05T08:00:00Z</when><when>2026-01-05T08:00:10Z</when><when>2026-01-05T08:00:20Z</when>\
        <gx:coord>103.1 25.3 1800</gx:coord><gx:coord>103.1001 25.3 1801</gx:coord><gx:coord>103.1002 25.3</gx:coord>\
        </gx:Track></Placemark>";

    #[test]
    fn outcomes() {
        let linestring = "<Placemark><TimeStamp><when>2026-01-05T08:00:00Z</when></TimeStamp>\
            <LineString><coordinates>103.1,25.3 103.2,25.4</coordinates></LineString></Placemark>";
        let timespan = "<Placemark><TimeSpan><begin>2026-01-05T08:00:00Z</begin><end>2026-01-05T09:00:00Z</end></TimeSpan>\
            <Point><coordinates>103.1,25.3</coordinates></Point></Placemark>";
        let multigeometry = "<Placemark><TimeStamp><when>2026-01-05T08:00:00Z</when></TimeStamp><MultiGeometry>\
            <Point><coordinates>103.1,25.3</coordinates></Point><Point><coordinates>103.2,25.3</coordinates></Point>\
            </MultiGeometry></Placemark>";
        let cases: Vec<(&str, String, Result<usize, &str>)> = vec![
            ("gx:Track", kml(GX_TRACK), Ok(3)),
            ("KML 2.3 Track", kml(&GX_TRACK.replace("gx:", "")), Ok(3)),
            (
                "empty track",
                kml("<Placemark><gx:Track/></Placemark>"),
                Err("too_few_points"),
            ),
            (
                "LineString with one TimeStamp",
                kml(linestring),
                Err("no_timestamps"),
            ),
            ("Point with TimeSpan", kml(timespan), Err("no_timestamps")),
            (
                "MultiGeometry points",
                kml(multigeometry),
                Err("no_timestamps"),
            ),
            (
                "no geometry",
                kml("<Placemark><name>x</name></Placemark>"),
                Err("no_track"),
            ),
            (
                "empty coordinates",
                kml("<Placemark><LineString><coordinates/></LineString></Placemark>"),
                Err("no_track"),
            ),
            (
                "timed points",
                kml(&(placemark("2026-01-05T08:00:00Z", "103.1,25.3,10")
                    + &placemark("2026-01-05T08:05:00Z", "103.2,25.3"))),
                Ok(2),
            ),
            (
                "one timed point",
                kml(&placemark("2026-01-05T08:00:00Z", "103.1,25.3")),
                Err("too_few_points"),
            ),
            (
                "lat 95",
                kml(&GX_TRACK.replace("103.1001 25.3", "103.1001 95")),
                Err("invalid_coordinates"),
            ),
            (
                "1970",
                kml(&GX_TRACK.replace("2026-01-05T08:00:10Z", "1970-01-01T00:00:10Z")),
                Err("invalid_timestamp"),
            ),
            (
                "count mismatch",
                kml(&GX_TRACK.replace("<when>2026-01-05T08:00:20Z</when>", "")),
                Err("malformed_track"),
            ),
            ("gpx root", "<gpx/>".into(), Err("malformed_track")),
        ];
        for (name, text, expected) in cases {
            assert_eq!(outcome(&text), expected, "{name}");
        }
    }

    #[test]
    fn values_are_read() {
        let track = read(&kml(GX_TRACK)).unwrap();
        let p = track.points[1];
        assert_eq!((p.lon, p.lat, p.ele), (103.1001, 25.3, Some(1801.0)));
        assert_eq!(p.time.to_rfc3339(), "2026-01-05T08:00:10+00:00");
        assert_eq!(track.points[2].ele, None);
    }

    #[test]
    fn interleaved_blocks_and_pause_marks() {
        // OpenTracks: whens and coords in any order; an empty coord is a pause.
        let body = "<Placemark><gx:MultiTrack><gx:Track>\
            <when>2026-01-05T08:00:00Z</when><gx:coord />\
            <gx:coord>14.0 3.0 10.0</gx:coord><when>2026-01-05T08:00:01Z</when>\
            <when>2026-01-05T08:00:02Z</when><when>2026-01-05T08:00:03Z</when><when>2026-01-05T08:00:04Z</when>\
            <gx:coord>14.001 3.0 10.0</gx:coord><gx:coord>14.002 3.0 10.0</gx:coord><gx:coord />\
            </gx:Track></gx:MultiTrack></Placemark>";
        let track = read(&kml(body)).unwrap();
        let pairs: Vec<(f64, u32)> = track
            .points
            .iter()
            .map(|p| (p.lon, p.time.timestamp() as u32 % 60))
            .collect();
        assert_eq!(pairs, [(14.0, 1), (14.001, 2), (14.002, 3)]);
    }

    #[test]
    fn multitrack_joins_all_tracks_and_ignores_marker_points() {
        let second = GX_TRACK
            .replace("08:00", "09:00")
            .replace("<Placemark>", "")
            .replace("</Placemark>", "");
        let first = GX_TRACK
            .replace("<Placemark>", "")
            .replace("</Placemark>", "");
        let body = format!(
            "{}<Placemark><gx:MultiTrack>{second}{first}</gx:MultiTrack></Placemark>{}",
            placemark("2026-01-05T07:00:00Z", "100,20"),
            placemark("2026-01-05T10:00:00Z", "100,20"),
        );
        let track = read(&kml(&body)).unwrap();
        assert_eq!(track.points.len(), 6);
        assert_eq!(
            track.started_at().unwrap().to_rfc3339(),
            "2026-01-05T08:00:00+00:00"
        );
    }

    #[test]
    fn untimed_placemark_points_are_dropped_and_flagged() {
        let body = placemark("2026-01-05T08:00:00Z", "103.1,25.3")
            + "<Placemark><Point><coordinates>103.15,25.3</coordinates></Point></Placemark>"
            + &placemark("2026-01-05T08:05:00Z", "103.2,25.3");
        let track = read(&kml(&body)).unwrap();
        assert_eq!(track.points.len(), 2);
        assert!(track.flags.contains(flag::POINTS_WITHOUT_TIME));
    }

    #[test]
    fn messages_name_the_point() {
        let err = read(&kml(&GX_TRACK.replace("103.1002 25.3", "103.1002"))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid coordinates: point 3: expected \"longitude latitude [altitude]\", found \"103.1002\""
        );
        let err = read(&kml(
            &GX_TRACK.replace("<when>2026-01-05T08:00:20Z</when>", "")
        ))
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("track 1 has 2 <when> but 3 <coord>"),
            "{err}"
        );
    }
}
