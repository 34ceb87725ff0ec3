//! Track readers: GPX 1.0/1.1, KML (`gx:Track`, `gx:MultiTrack`, LineString
//! with times) and GeoJSON. Each turns bytes into a [`Track`] or a
//! [`ReadError`] with a stable code.

use crate::track::Track;

/// The file formats we accept, chosen from the upload's content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackFormat {
    Gpx,
    Kml,
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
    #[error("the file is not a well-formed track file: {0}")]
    Malformed(String),
    #[error("the file has no track (only routes or waypoints)")]
    NoTrack,
    #[error("the track has no per-point timestamps")]
    NoTimestamps,
    #[error("the track has fewer than 2 points with time and position")]
    TooFewPoints,
    #[error("invalid coordinates: {0}")]
    InvalidCoordinates(String),
    #[error("invalid timestamp: {0}")]
    InvalidTimestamp(String),
}

impl ReadError {
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

/// Reads a track file of the given format.
pub fn read_track(format: TrackFormat, bytes: &[u8]) -> Result<Track, ReadError> {
    let _ = (format, bytes);
    Err(ReadError::Malformed("reader not yet written".into()))
}
