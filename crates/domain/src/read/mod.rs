//! Track readers: GPX 1.0/1.1, KML (`gx:Track`, `gx:MultiTrack`, timed
//! Placemark Points) and GeoJSON. Each turns bytes into a [`Track`] or a
//! [`ReadError`] with a stable code; each module documents its rules.
//!
//! Common to all readers (see `build.rs`): coordinates must be finite and on
//! the globe (else the whole file is `invalid_coordinates`, naming the point);
//! times must parse and lie in 2000..=2100 (else `invalid_timestamp`); points
//! without a time are left out (flag `points_without_time`); times without a
//! zone are read as UTC (flag `naive_times`); points are sorted by time
//! (stable) and exact duplicates (same time and position) dropped (flag
//! `duplicate_points`). Fewer than 2 points left is `too_few_points`.
//!
//! ```
//! use domain::read::{read_track, TrackFormat};
//! let gpx = br#"<gpx><trk><trkseg>
//!   <trkpt lat="25.30" lon="103.10"><time>2026-01-05T08:00:00+08:00</time></trkpt>
//!   <trkpt lat="25.31" lon="103.11"><time>2026-01-05T08:10:00+08:00</time></trkpt>
//! </trkseg></trk></gpx>"#;
//! let track = read_track(TrackFormat::Gpx, gpx).unwrap();
//! assert_eq!(track.points.len(), 2);
//! assert_eq!(track.started_at().unwrap().to_rfc3339(), "2026-01-05T00:00:00+00:00");
//! ```

mod build;
mod geojson;
mod gpx;
mod kml;
mod timestamp;
mod xml;

use crate::track::Track;
use std::borrow::Cow;

/// The file formats we accept, chosen from the upload's content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackFormat {
    /// GPX 1.0 or 1.1.
    Gpx,
    /// KML 2.2 (with Google's `gx:` extensions) or OGC KML 2.3.
    Kml,
    /// GeoJSON (RFC 7946), as togeojson and phone loggers write it.
    GeoJson,
}

impl TrackFormat {
    /// Maps a MIME type (parameters ignored) to a format.
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let mime = content_type.split(';').next()?.trim().to_ascii_lowercase();
        match mime.as_str() {
            "application/gpx+xml" | "application/gpx" => Some(Self::Gpx),
            "application/vnd.google-earth.kml+xml" => Some(Self::Kml),
            "application/geo+json" | "application/json" => Some(Self::GeoJson),
            _ => None,
        }
    }

    /// Guesses from a file name's extension (multipart uploads, fixtures).
    pub fn from_file_name(name: &str) -> Option<Self> {
        let ext = name.rsplit('.').next()?.to_ascii_lowercase();
        match ext.as_str() {
            "gpx" => Some(Self::Gpx),
            "kml" => Some(Self::Kml),
            "geojson" | "json" => Some(Self::GeoJson),
            _ => None,
        }
    }

    /// The canonical MIME type of the format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Gpx => "application/gpx+xml",
            Self::Kml => "application/vnd.google-earth.kml+xml",
            Self::GeoJson => "application/geo+json",
        }
    }
}

/// Why a file could not be read as a track. `code()` is the API's error code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReadError {
    /// Not XML/JSON at all, truncated, a DTD, or structurally unusable.
    #[error("the file is not a well-formed track file: {0}")]
    Malformed(String),
    /// No track geometry: only routes, waypoints, or nothing.
    #[error("the file has no track (only routes or waypoints)")]
    NoTrack,
    /// A track line exists but its points carry no times.
    #[error("the track has no per-point timestamps")]
    NoTimestamps,
    /// Fewer than 2 distinct points with time and position.
    #[error("the track has fewer than 2 points with time and position")]
    TooFewPoints,
    /// A coordinate is not a number, NaN/infinite, or off the globe.
    #[error("invalid coordinates: {0}")]
    InvalidCoordinates(String),
    /// A time that does not parse, or lies outside 2000..=2100.
    #[error("invalid timestamp: {0}")]
    InvalidTimestamp(String),
}

impl ReadError {
    /// The stable snake_case code the API returns with a 422.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed_track",
            Self::NoTrack => "no_track",
            Self::NoTimestamps => "no_timestamps",
            Self::TooFewPoints => "too_few_points",
            Self::InvalidCoordinates(_) => "invalid_coordinates",
            Self::InvalidTimestamp(_) => "invalid_timestamp",
        }
    }
}

/// Reads a track file of the given format. Memory stays a small multiple of
/// the input: XML is streamed, never built into a tree.
pub fn read_track(format: TrackFormat, bytes: &[u8]) -> Result<Track, ReadError> {
    let text = decode_text(bytes);
    match format {
        TrackFormat::Gpx => gpx::read(&text),
        TrackFormat::Kml => kml::read(&text),
        TrackFormat::GeoJson => geojson::read(&text),
    }
}

/// Bytes to text: drops a UTF-8 byte-order mark, decodes UTF-16 files that
/// start with a BOM, and replaces invalid UTF-8 (e.g. a Latin-1 or GBK
/// `<name>`) rather than refusing it: names are never used, numbers are ASCII.
fn decode_text(bytes: &[u8]) -> Cow<'_, str> {
    match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => utf8(rest),
        [0xFF, 0xFE, rest @ ..] => Cow::Owned(decode_utf16(rest, u16::from_le_bytes)),
        [0xFE, 0xFF, rest @ ..] => Cow::Owned(decode_utf16(rest, u16::from_be_bytes)),
        _ => utf8(bytes),
    }
}

/// `from_utf8` first: it is several times faster than `from_utf8_lossy` on
/// valid input, which is nearly every upload.
fn utf8(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

fn decode_utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> String {
    let units = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]]));
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    const GPX: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test"><trk><trkseg>
<trkpt lat="25.3" lon="103.1"><time>2026-01-05T08:00:00Z</time></trkpt>
<trkpt lat="25.31" lon="103.11"><time>2026-01-05T08:10:00Z</time></trkpt>
</trkseg></trk></gpx>"#;

    const KML: &str = r#"<kml xmlns:gx="http://www.google.com/kml/ext/2.2"><Placemark><gx:Track>
<when>2026-01-05T08:00:00Z</when><when>2026-01-05T08:10:00+08:00</when>
<gx:coord>103.1 25.3 1800</gx:coord><gx:coord>103.11 25.31</gx:coord></gx:Track></Placemark></kml>"#;

    const GEOJSON: &str = r#"{"type": "Feature", "geometry": {"type": "MultiLineString",
"coordinates": [[[103.1, 25.3, 1800], [103.11, 25.31]]]},
"properties": {"coordTimes": [["2026-01-05T08:00:00Z", 1767600600000]]}}"#;

    proptest::proptest! {
        /// Truncated or damaged files give an error, never a panic.
        #[test]
        fn damaged_files_never_panic(cut in 0usize..400, at in 0usize..400, byte: u8, which in 0usize..3) {
            let (format, text) = [(TrackFormat::Gpx, GPX), (TrackFormat::Kml, KML), (TrackFormat::GeoJson, GEOJSON)][which];
            let mut bytes = text.as_bytes()[..cut.min(text.len())].to_vec();
            if let Some(b) = bytes.get_mut(at) {
                *b = byte;
            }
            let _ = read_track(format, &bytes);
        }
    }

    #[test]
    fn every_format_reads_its_sample() {
        for (format, text) in [
            (TrackFormat::Gpx, GPX),
            (TrackFormat::Kml, KML),
            (TrackFormat::GeoJson, GEOJSON),
        ] {
            assert_eq!(
                read_track(format, text.as_bytes()).unwrap().points.len(),
                2,
                "{format:?}"
            );
        }
    }

    #[test]
    fn dispatches_by_format() {
        assert_eq!(
            read_track(TrackFormat::Gpx, GPX.as_bytes())
                .unwrap()
                .points
                .len(),
            2
        );
        let wrong = read_track(TrackFormat::Kml, GPX.as_bytes()).unwrap_err();
        assert_eq!(wrong.code(), "malformed_track");
        let json = read_track(TrackFormat::GeoJson, GPX.as_bytes()).unwrap_err();
        assert_eq!(json.code(), "malformed_track");
    }

    #[test]
    fn byte_order_marks_and_encodings() {
        let with_bom = [b"\xEF\xBB\xBF".as_slice(), GPX.as_bytes()].concat();
        assert_eq!(
            read_track(TrackFormat::Gpx, &with_bom)
                .unwrap()
                .points
                .len(),
            2
        );

        let utf16le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(GPX.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(
            read_track(TrackFormat::Gpx, &utf16le).unwrap().points.len(),
            2
        );

        // A Latin-1 name in a file that claims another encoding still reads.
        let latin1 = GPX
            .replace("<trk>", "<trk><name>Caf\u{e9}</name>")
            .replace('\u{e9}', "\u{FFFD}");
        let bytes = latin1.replace('\u{FFFD}', "\u{1}").into_bytes();
        let bytes: Vec<u8> = bytes
            .into_iter()
            .map(|b| if b == 1 { 0xE9 } else { b })
            .collect();
        assert_eq!(
            read_track(TrackFormat::Gpx, &bytes).unwrap().points.len(),
            2
        );

        let json_bom = "\u{FEFF}{\"type\": \"FeatureCollection\", \"features\": []}";
        assert_eq!(
            read_track(TrackFormat::GeoJson, json_bom.as_bytes())
                .unwrap_err()
                .code(),
            "no_track"
        );
    }

    #[test]
    fn xml_bombs_are_refused_fast() {
        let mut bomb =
            String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE gpx [\n<!ENTITY lol \"lol\">\n");
        for i in 1..10 {
            let prev = if i == 1 {
                "lol".to_string()
            } else {
                format!("lol{}", i - 1)
            };
            bomb += &format!("<!ENTITY lol{i} \"{}\">\n", format!("&{prev};").repeat(10));
        }
        bomb += "]>\n<gpx><trk><name>&lol9;</name></trk></gpx>";
        for format in [TrackFormat::Gpx, TrackFormat::Kml] {
            let text = bomb.replace(
                "gpx",
                if format == TrackFormat::Kml {
                    "kml"
                } else {
                    "gpx"
                },
            );
            let start = Instant::now();
            let err = read_track(format, text.as_bytes()).unwrap_err();
            assert!(
                start.elapsed() < Duration::from_millis(100),
                "{:?}",
                start.elapsed()
            );
            assert_eq!(err.code(), "malformed_track");
            assert!(err.to_string().contains("DTDs are not allowed"), "{err}");
        }
    }

    #[test]
    fn external_entities_are_refused() {
        let xxe = "<?xml version=\"1.0\"?><!DOCTYPE gpx [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><gpx>&xxe;</gpx>";
        assert_eq!(
            read_track(TrackFormat::Gpx, xxe.as_bytes())
                .unwrap_err()
                .code(),
            "malformed_track"
        );
    }

    #[test]
    fn unknown_entity_references_are_ignored() {
        let text = GPX.replace("<trk>", "<trk><name>&nbsp;&foo;&#x41;&amp; & x</name>");
        assert_eq!(
            read_track(TrackFormat::Gpx, text.as_bytes())
                .unwrap()
                .points
                .len(),
            2
        );
    }
}
