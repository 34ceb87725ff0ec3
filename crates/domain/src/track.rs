//! A patrol track as every reader produces it: points in WGS-84 lon/lat with
//! a UTC time each, in time order, plus flags about how the file was written.

use chrono::{DateTime, Utc};
use std::collections::BTreeSet;

/// One GPS fix. `lon`/`lat` in degrees (WGS-84 unless converted later),
/// `ele` in metres when the file had it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackPoint {
    pub lon: f64,
    pub lat: f64,
    pub ele: Option<f64>,
    pub time: DateTime<Utc>,
}

/// A flag is not a rejection: it tells the office something about the file
/// (e.g. `naive_times`: times without a zone, read as UTC).
pub type Flags = BTreeSet<&'static str>;

/// The flags the track readers set. Other layers may add their own.
pub mod flag {
    /// Some or all times had no zone and were read as UTC (GPX schema rule);
    /// a Chinese app writing Beijing wall time would be 8 hours off.
    pub const NAIVE_TIMES: &str = "naive_times";
    /// The file had track points without a time; they were left out.
    pub const POINTS_WITHOUT_TIME: &str = "points_without_time";
    /// The file repeated points (same time and position); copies were dropped.
    pub const DUPLICATE_POINTS: &str = "duplicate_points";
}

/// A parsed track: points sorted by time (stable), exact duplicate points
/// removed, plus flags. Readers guarantee finite, in-range coordinates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Track {
    pub points: Vec<TrackPoint>,
    pub flags: Flags,
}

impl Track {
    pub fn started_at(&self) -> Option<DateTime<Utc>> {
        self.points.first().map(|p| p.time)
    }

    pub fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.points.last().map(|p| p.time)
    }

    /// The track as a geo LineString (x = lon, y = lat).
    pub fn line_string(&self) -> geo::LineString<f64> {
        self.points.iter().map(|p| (p.lon, p.lat)).collect()
    }
}
