//! Point timestamps as track files write them: ISO 8601 / RFC 3339 text
//! (`Z`, `+08:00`, `+0800`, no zone, 0-9+ fractional digits) or epoch numbers.
//! A hand-written parser covers the common shapes fast; chrono is the fallback.

use super::ReadError;
use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};

/// Earliest accepted point time: 2000-01-01T00:00:00Z. Earlier times come from
/// receivers without a date fix (1970, 1901 placeholders) or GPS week rollover.
const MIN_EPOCH_S: i64 = 946_684_800;
/// First rejected point time: 2101-01-01T00:00:00Z (clearly a broken clock).
const MAX_EPOCH_S: i64 = 4_133_980_800;

/// A parsed point time. `naive` is true when the text had no zone and was
/// read as UTC (the GPX schema's rule); the track is then flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub time: DateTime<Utc>,
    pub naive: bool,
}

/// Seconds since 1970, nanoseconds, and whether the text had no zone.
type Parsed = (i64, u32, bool);

/// Parses an ISO 8601 time and checks it is in 2000..=2100.
/// `point` is the 1-based point number used in error messages.
pub(crate) fn parse_time(text: &str, point: usize) -> Result<Stamp, ReadError> {
    let text = text.trim_ascii();
    let (secs, nanos, naive) = parse_fast(text.as_bytes())
        .or_else(|| parse_chrono(text))
        .ok_or_else(|| {
            ReadError::InvalidTimestamp(format!(
                "point {point}: time {text:?} is not an ISO 8601 date and time"
            ))
        })?;
    // Checked on the raw seconds, so a DateTime is only built for good times.
    check_range(secs, text, point)?;
    let time = DateTime::from_timestamp(secs, nanos).ok_or_else(|| {
        ReadError::InvalidTimestamp(format!("point {point}: time {text:?} is out of range"))
    })?;
    Ok(Stamp { time, naive })
}

/// Reads a number of seconds (below 1e11) or milliseconds (below 1e14)
/// since 1970 as UTC, e.g. GPSLogger's `time_long` or OwnTracks' `tst`.
pub(crate) fn parse_epoch(value: f64, point: usize) -> Result<Stamp, ReadError> {
    let millis = if !value.is_finite() || value.abs() >= 1e14 {
        None
    } else if value.abs() >= 1e11 {
        Some(value)
    } else {
        Some(value * 1000.0)
    };
    let time = millis.and_then(|ms| DateTime::from_timestamp_millis(ms.round() as i64));
    let Some(time) = time else {
        return Err(ReadError::InvalidTimestamp(format!(
            "point {point}: {value} is not a plausible epoch time in seconds or milliseconds"
        )));
    };
    check_range(time.timestamp(), &value.to_string(), point)?;
    Ok(Stamp { time, naive: false })
}

/// Seconds since 1970 must fall in 2000..=2100.
fn check_range(secs: i64, text: &str, point: usize) -> Result<(), ReadError> {
    if secs < MIN_EPOCH_S {
        Err(ReadError::InvalidTimestamp(format!(
            "point {point}: time {text} is before 2000-01-01; the receiver probably had no \
             date fix: record the patrol again or set the device clock"
        )))
    } else if secs >= MAX_EPOCH_S {
        Err(ReadError::InvalidTimestamp(format!(
            "point {point}: time {text} is after the year 2100; check the device clock"
        )))
    } else {
        Ok(())
    }
}

/// `YYYY-MM-DD(T| )HH:MM:SS[.f…][Z|±HH[:MM]]`, nothing else. `None` sends the
/// text to the chrono fallback, which also gives the error.
fn parse_fast(b: &[u8]) -> Option<Parsed> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let year = i64::from(digits(&b[0..4])?);
    let (month, day) = (digits(&b[5..7])?, digits(&b[8..10])?);
    let (hour, min, sec) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let (nanos, rest) = fraction(&b[19..])?;
    let (offset_s, naive) = zone(rest)?;
    let secs = days_from_civil(year, month, day) * 86_400 + i64::from(hour * 3600 + min * 60 + sec)
        - offset_s;
    Some((secs, nanos, naive))
}

/// Fractional seconds: keeps the first 9 digits (nanoseconds), ignores more.
fn fraction(b: &[u8]) -> Option<(u32, &[u8])> {
    let Some(rest) = b.strip_prefix(b".").or_else(|| b.strip_prefix(b",")) else {
        return Some((0, b));
    };
    let len = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if len == 0 {
        return None;
    }
    let nanos = (0..9).fold(0u32, |acc, i| {
        let digit = if i < len {
            u32::from(rest[i] - b'0')
        } else {
            0
        };
        acc * 10 + digit
    });
    Some((nanos, &rest[len..]))
}

/// Zone designator → (offset east of UTC in seconds, naive?).
fn zone(b: &[u8]) -> Option<(i64, bool)> {
    match b {
        [] => Some((0, true)),
        [b'Z' | b'z'] => Some((0, false)),
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest {
                [h1, h2] => (digits(&[*h1, *h2])?, 0),
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => {
                    (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?)
                }
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let offset = i64::from(h * 3600 + m * 60);
            Some((if *sign == b'-' { -offset } else { offset }, false))
        }
        _ => None,
    }
}

/// Slower, broader shapes: whatever chrono's RFC 3339 / ISO 8601 parsers take.
fn parse_chrono(text: &str) -> Option<Parsed> {
    let parts = |t: DateTime<Utc>, naive| (t.timestamp(), t.timestamp_subsec_nanos(), naive);
    if let Ok(t) = DateTime::<FixedOffset>::parse_from_rfc3339(text) {
        return Some(parts(t.to_utc(), false));
    }
    if let Ok(t) = text.parse::<DateTime<FixedOffset>>() {
        return Some(parts(t.to_utc(), false));
    }
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|fmt| NaiveDateTime::parse_from_str(text, fmt).ok())
    .map(|t| parts(t.and_utc(), true))
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn accepted_shapes() {
        let cases = [
            ("2024-01-20T08:00:00Z", "2024-01-20T08:00:00Z", false),
            ("2024-01-20t08:00:00z", "2024-01-20T08:00:00Z", false),
            ("2024-01-20T08:00:00", "2024-01-20T08:00:00Z", true),
            ("2024-01-20 08:00:00", "2024-01-20T08:00:00Z", true),
            ("2024-01-20T09:00:00+01:00", "2024-01-20T08:00:00Z", false),
            ("2024-01-20T16:00:00+0800", "2024-01-20T08:00:00Z", false),
            ("2024-01-20T03:00:00-05", "2024-01-20T08:00:00Z", false),
            ("2024-01-20T08:00:00.2Z", "2024-01-20T08:00:00.2Z", false),
            (
                "2024-01-20T08:00:00.123456789Z",
                "2024-01-20T08:00:00.123456789Z",
                false,
            ),
            (
                "2010-12-14T06:17:04.2073437Z",
                "2010-12-14T06:17:04.2073437Z",
                false,
            ),
            (
                "2024-01-20T08:00:00.1234567891234Z",
                "2024-01-20T08:00:00.123456789Z",
                false,
            ),
            (
                "2024-11-03T16:30:11.331+07:00",
                "2024-11-03T09:30:11.331Z",
                false,
            ),
            ("  2024-02-29T23:59:59Z\n", "2024-02-29T23:59:59Z", false),
            ("2024-01-20T08:00", "2024-01-20T08:00:00Z", true),
        ];
        for (text, expected, naive) in cases {
            let stamp = parse_time(text, 1).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(stamp.time, utc(expected), "{text}");
            assert_eq!(stamp.naive, naive, "{text}");
        }
    }

    #[test]
    fn fast_path_agrees_with_chrono() {
        for text in [
            "2026-12-31T23:59:59.5+08:00",
            "2000-03-01T00:00:00Z",
            "2099-02-28T12:00:00-11:30",
        ] {
            let (secs, nanos, _) = parse_fast(text.as_bytes()).unwrap();
            assert_eq!(
                DateTime::from_timestamp(secs, nanos).unwrap(),
                utc(text),
                "{text}"
            );
        }
    }

    #[test]
    fn rejected_text() {
        for text in [
            "",
            "yesterday",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-01-20T25:00:00Z",
            "2024-01-20",
        ] {
            let err = parse_time(text, 7).unwrap_err();
            assert_eq!(err.code(), "invalid_timestamp", "{text}");
            assert!(err.to_string().contains("point 7"), "{err}");
        }
    }

    #[test]
    fn out_of_range_years() {
        for text in [
            "1970-01-01T00:00:03.464Z",
            "1901-12-13T20:45:52.2073437Z",
            "1999-12-31T23:59:59Z",
            "2101-01-01T00:00:00Z",
        ] {
            let err = parse_time(text, 3).unwrap_err();
            assert_eq!(err.code(), "invalid_timestamp", "{text}");
        }
        assert!(
            parse_time("1970-01-01T00:00:03Z", 1)
                .unwrap_err()
                .to_string()
                .contains("before 2000-01-01")
        );
        assert!(parse_time("2000-01-01T00:00:00Z", 1).is_ok());
        assert!(parse_time("2100-12-31T23:59:59Z", 1).is_ok());
    }

    #[test]
    fn epoch_numbers() {
        let expected = utc("2024-11-03T09:30:11.331Z");
        assert_eq!(parse_epoch(1_730_626_211_331.0, 1).unwrap().time, expected);
        assert_eq!(parse_epoch(1_730_626_211.331, 1).unwrap().time, expected);
        assert!(parse_epoch(12.0, 1).is_err());
        assert!(parse_epoch(f64::NAN, 1).is_err());
        assert!(parse_epoch(1e16, 1).is_err());
    }
}
