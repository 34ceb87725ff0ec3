//! What every reader does with the points it found: check coordinates, keep
//! the timed points, then sort by time, drop exact duplicates and decide
//! between a track and `too_few_points` / `no_timestamps`.

use super::ReadError;
use super::timestamp::Stamp;
use crate::track::{Flags, Track, TrackPoint, flag};
use std::collections::HashSet;

/// Collects points in file order. `seen` counts every point the file has
/// (with or without time) so error messages and outcomes can use it.
#[derive(Debug, Default)]
pub(crate) struct TrackBuilder {
    points: Vec<TrackPoint>,
    flags: Flags,
    seen: usize,
    untimed: usize,
    /// Points of the file that are not positions (pause markers), skipped.
    skipped: usize,
}

impl TrackBuilder {
    /// A builder with room for `points` points, for readers that know the
    /// count up front (no doubling of the point buffer as it grows).
    pub fn with_capacity(points: usize) -> Self {
        Self {
            points: Vec::with_capacity(points),
            ..Self::default()
        }
    }

    /// The 1-based number the next point will have in error messages.
    pub fn next_point_no(&self) -> usize {
        self.seen + self.skipped + 1
    }

    /// Passes over a point of the file that is not a position (a pause
    /// marker): later points keep their numbers in the file.
    pub fn skip_point(&mut self) {
        self.skipped += 1;
    }

    /// Points seen so far, with or without time.
    pub fn seen(&self) -> usize {
        self.seen
    }

    /// Adds one point; a point without time is only counted (and flagged).
    /// Coordinates must already have passed [`check_position`].
    pub fn push(&mut self, lon: f64, lat: f64, ele: Option<f64>, stamp: Option<Stamp>) {
        self.seen += 1;
        let Some(stamp) = stamp else {
            self.untimed += 1;
            return;
        };
        if stamp.naive {
            self.flags.insert(flag::NAIVE_TIMES);
        }
        let ele = ele.filter(|e| e.is_finite());
        self.points.push(TrackPoint {
            lon,
            lat,
            ele,
            time: stamp.time,
        });
    }

    /// Ends reading: fewer than 2 points in the file, or fewer than 2 distinct
    /// timed points, is `TooFewPoints`; points but no times is `NoTimestamps`.
    pub fn finish(mut self) -> Result<Track, ReadError> {
        if self.seen < 2 {
            return Err(ReadError::TooFewPoints);
        }
        if self.points.is_empty() {
            return Err(ReadError::NoTimestamps);
        }
        if self.untimed > 0 {
            self.flags.insert(flag::POINTS_WITHOUT_TIME);
        }
        // Stable: points at the same time keep their file order.
        self.points.sort_by_key(|p| p.time);
        if remove_exact_duplicates(&mut self.points) {
            self.flags.insert(flag::DUPLICATE_POINTS);
        }
        if self.points.len() < 2 {
            return Err(ReadError::TooFewPoints);
        }
        Ok(Track {
            points: self.points,
            flags: self.flags,
        })
    }
}

/// Parses one coordinate number; `what` is "latitude", "longitude", ….
pub(crate) fn parse_number(text: &str, what: &str, point: usize) -> Result<f64, ReadError> {
    parse_f64(text).ok_or_else(|| {
        ReadError::InvalidCoordinates(format!("point {point}: {what} {text:?} is not a number"))
    })
}

/// A decimal number, surrounding whitespace allowed. Plain decimals such as
/// `103.1234567` take a fast path that gives the same, correctly rounded
/// result as `str::parse` (an exact integer mantissa below 2^53 divided by an
/// exact power of ten: Clinger's fast path); anything else (exponents, long
/// mantissas, `NaN`) goes to `str::parse`.
pub(crate) fn parse_f64(text: &str) -> Option<f64> {
    let text = text.trim_ascii();
    parse_plain_decimal(text.as_bytes()).or_else(|| text.parse().ok())
}

fn parse_plain_decimal(b: &[u8]) -> Option<f64> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let (negative, b) = match b {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, b),
    };
    let (mut mantissa, mut digits, mut dot_at) = (0u64, 0usize, None);
    for &c in b {
        match c {
            b'0'..=b'9' if digits < 15 => {
                mantissa = mantissa * 10 + u64::from(c - b'0');
                digits += 1;
            }
            b'.' if dot_at.is_none() => dot_at = Some(digits),
            _ => return None,
        }
    }
    if digits == 0 {
        return None;
    }
    // At most 15 digits: the mantissa is below 2^53, so the cast is exact.
    let value = mantissa as f64 / POW10[digits - dot_at.unwrap_or(digits)];
    Some(if negative { -value } else { value })
}

/// Rejects NaN/infinite values and positions off the globe; the whole file
/// is refused, naming the point so the user can find it.
pub(crate) fn check_position(lon: f64, lat: f64, point: usize) -> Result<(), ReadError> {
    let check = |what: &str, value: f64, limit: f64| {
        let problem = if !value.is_finite() {
            "is not a finite number"
        } else if value.abs() > limit {
            &format!("is outside -{limit}..{limit}")
        } else {
            return Ok(());
        };
        Err(ReadError::InvalidCoordinates(format!(
            "point {point}: {what} {value:?} {problem}"
        )))
    };
    check("latitude", lat, 90.0)?;
    check("longitude", lon, 180.0)
}

/// Drops later copies of a point with the same time and position from a
/// time-sorted list; returns whether anything was dropped. Only points with
/// equal times can be duplicates, so each run of equal times is checked alone.
fn remove_exact_duplicates(points: &mut Vec<TrackPoint>) -> bool {
    let mut keep = vec![true; points.len()];
    let mut seen = HashSet::new();
    let mut offset = 0;
    for run in points.chunk_by(|a, b| a.time == b.time) {
        if run.len() > 1 {
            seen.clear();
            for (i, p) in run.iter().enumerate() {
                // `+ 0.0` makes -0.0 and 0.0 the same key.
                let key = ((p.lon + 0.0).to_bits(), (p.lat + 0.0).to_bits());
                keep[offset + i] = seen.insert(key);
            }
        }
        offset += run.len();
    }
    let before = points.len();
    let mut mask = keep.into_iter();
    points.retain(|_| mask.next().unwrap_or(true));
    points.len() != before
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fast_number_path_is_exact(mantissa in 0u64..1_000_000_000_000_000, frac in 0usize..16, negative: bool) {
            let digits = format!("{mantissa:0>width$}", width = frac + 1);
            let (int, fraction) = digits.split_at(digits.len() - frac);
            let sign = if negative { "-" } else { "" };
            let text = if frac == 0 { format!("{sign}{int}") } else { format!("{sign}{int}.{fraction}") };
            prop_assert_eq!(parse_f64(&text).map(f64::to_bits), text.parse::<f64>().ok().map(f64::to_bits), "{}", text);
        }
    }

    fn at(secs: i64) -> Stamp {
        Stamp {
            time: DateTime::<Utc>::from_timestamp(1_700_000_000 + secs, 0).unwrap(),
            naive: false,
        }
    }

    #[test]
    fn sorts_stably_and_drops_exact_duplicates() {
        let mut b = TrackBuilder::default();
        b.push(1.0, 1.0, None, Some(at(5)));
        b.push(2.0, 2.0, None, Some(at(1)));
        b.push(3.0, 3.0, None, Some(at(5)));
        b.push(1.0, 1.0, Some(9.0), Some(at(5)));
        b.push(2.0, 2.0, None, Some(at(1)));
        let track = b.finish().unwrap();
        let lons: Vec<f64> = track.points.iter().map(|p| p.lon).collect();
        assert_eq!(lons, [2.0, 1.0, 3.0]);
        assert!(track.flags.contains(flag::DUPLICATE_POINTS));
    }

    #[test]
    fn same_time_different_place_is_kept() {
        let mut b = TrackBuilder::default();
        b.push(1.0, 1.0, None, Some(at(0)));
        b.push(1.5, 1.0, None, Some(at(0)));
        let track = b.finish().unwrap();
        assert_eq!(track.points.len(), 2);
        assert!(track.flags.is_empty());
    }

    #[test]
    fn outcomes_by_count() {
        type Case = (&'static [Option<i64>], Result<usize, &'static str>);
        let cases: [Case; 6] = [
            (&[], Err("too_few_points")),
            (&[Some(0)], Err("too_few_points")),
            (&[None, None], Err("no_timestamps")),
            (&[Some(0), None], Err("too_few_points")),
            (&[Some(0), Some(0)], Err("too_few_points")),
            (&[Some(0), None, Some(1)], Ok(2)),
        ];
        for (times, expected) in cases {
            let mut b = TrackBuilder::default();
            for t in times {
                b.push(1.0, 1.0, None, t.map(at));
            }
            let got = b.finish().map(|t| t.points.len()).map_err(|e| e.code());
            assert_eq!(got, expected, "{times:?}");
        }
    }

    #[test]
    fn untimed_and_naive_points_are_flagged() {
        let mut b = TrackBuilder::default();
        b.push(
            1.0,
            1.0,
            None,
            Some(Stamp {
                naive: true,
                ..at(0)
            }),
        );
        b.push(1.0, 2.0, None, None);
        b.push(1.0, 3.0, None, Some(at(1)));
        let flags = b.finish().unwrap().flags;
        assert!(flags.contains(flag::NAIVE_TIMES));
        assert!(flags.contains(flag::POINTS_WITHOUT_TIME));
    }

    #[test]
    fn numbers_parse_like_str_parse() {
        let cases = [
            "103.1234567",
            "-25.3",
            "+1.5",
            "0",
            "00.100",
            "1850.",
            ".5",
            "  7.25\n",
            "123456789012345",
            "1234567890123456",
            "0.1234567890123456789",
            "1e-05",
            "-2.5E+1",
            "NaN",
            "inf",
            "1,5",
            "",
            "-",
            ".",
            "1.2.3",
            "0x10",
        ];
        for text in cases {
            let expected = text.trim().parse::<f64>().ok();
            let got = parse_f64(text);
            assert_eq!(
                got.map(f64::to_bits),
                expected.map(f64::to_bits),
                "{text:?}"
            );
        }
    }

    #[test]
    fn position_checks() {
        let cases = [
            (
                0.0,
                95.0,
                Some("point 17: latitude 95.0 is outside -90..90"),
            ),
            (
                181.0,
                0.0,
                Some("point 17: longitude 181.0 is outside -180..180"),
            ),
            (
                0.0,
                f64::NAN,
                Some("point 17: latitude NaN is not a finite number"),
            ),
            (
                f64::INFINITY,
                0.0,
                Some("point 17: longitude inf is not a finite number"),
            ),
            (-180.0, -90.0, None),
        ];
        for (lon, lat, message) in cases {
            let got = check_position(lon, lat, 17).err().map(|e| e.to_string());
            assert_eq!(got, message.map(|m| format!("invalid coordinates: {m}")));
        }
    }
}
