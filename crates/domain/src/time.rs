//! The calendar of the weekly rule: China Standard Time, ISO weeks
//! (`2026-W48`), quarters made of weeks (`2026-Q4`) and assessment years.
//!
//! Definitions (DESIGN.md, "Time"):
//!
//! - **CST** is UTC+8 all year round, with no daylight saving time. It is
//!   implemented as the [`FixedOffset`] [`CST`], not as chrono-tz's
//!   `Asia/Shanghai`: the rule *is* "UTC+8, no DST", while tzdata's
//!   `Asia/Shanghai` also carries the summer times of 1986–1991 and local mean
//!   time before 1901. The two agree for every instant since 1992 (a test
//!   checks it), and a fixed offset keeps every CST day exactly 24 hours long.
//! - A **week** is an ISO 8601 week in CST: Monday 00:00 CST up to, not
//!   including, the next Monday 00:00 CST ([`IsoWeek::start_utc`] ..
//!   [`IsoWeek::end_utc`], half-open). It is named by its ISO week-year and
//!   number, `2026-W48`. The week-year is the calendar year of the week's
//!   Thursday, so 2027-01-01 (a Friday) belongs to `2026-W53`, and a year has
//!   52 weeks, or 53 when it starts on a Thursday (or on a Wednesday in a leap
//!   year). An instant belongs to the week that contains its CST date.
//! - A **quarter** (`2026-Q4`) is the run of weeks whose Thursday falls in
//!   the calendar quarter. Counting Thursdays gives 13 weeks for most
//!   quarters, but not always: Q2 (91 days) always has 13; Q1 (90 or 91 days)
//!   has 12 or 13; Q3 and Q4 (92 days) have 13 or 14. So 2026-Q4 has 14
//!   (W40–W53), 2027-Q1 only 12 (W01–W12) and 2027-Q3 14 (W26–W39); DESIGN's
//!   "13 (sometimes 14)" rounds this off, the Thursday rule decides. Its days
//!   are the days of its weeks, which may begin in the previous calendar
//!   quarter or end in the next one (2026-Q1 starts on Monday 2025-12-29).
//! - An assessment **year** is an ISO week-year: its four quarters, weeks
//!   W01 to W52 or W53.
//!
//! Weeks, quarters and years are supported for the years 0001 to 9999, the
//! years their four-digit names can spell. Values of these types are always
//! valid: they are built by parsing or by checked constructors ("parse, don't
//! validate"), and serialize as their names.
//!
//! ```
//! use chrono::{NaiveDate, TimeZone, Utc};
//! use domain::time::{IsoWeek, Quarter};
//!
//! // Monday 00:20 CST is still Sunday 16:20 UTC, and already the new week.
//! let t = Utc.with_ymd_and_hms(2026, 11, 22, 16, 20, 0).unwrap();
//! let week = IsoWeek::of_instant(t)?;
//! assert_eq!(week.to_string(), "2026-W48");
//! assert_eq!(week.monday(), NaiveDate::from_ymd_opt(2026, 11, 23).unwrap());
//! assert_eq!(week.quarter(), "2026-Q4".parse::<Quarter>()?);
//! assert_eq!("2026-Q4".parse::<Quarter>()?.weeks().len(), 14);
//! # Ok::<(), domain::time::TimeError>(())
//! ```

use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, SecondsFormat, TimeDelta, Utc,
    Weekday,
};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// China Standard Time: UTC+8, no daylight saving time.
pub const CST: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

/// The first supported year.
pub const MIN_YEAR: i32 = 1;
/// The last supported year.
pub const MAX_YEAR: i32 = 9999;

/// Why a week, quarter or year could not be built. Each error has a stable
/// [`code`](TimeError::code) and a message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Not of the form `YYYY-Www`.
    #[error("`{input}` is not a week: expected `YYYY-Www` such as `2026-W48`{hint}")]
    MalformedWeek {
        /// The rejected text (shortened when long).
        input: String,
        /// An extra hint for a common mistake, empty or starting with "; ".
        hint: &'static str,
    },
    /// Well formed, but the year has no such week (`2025-W53`, `2026-W00`).
    #[error(
        "{year:04}-W{week:02} does not exist: {year:04} has the weeks W01 to W{weeks_in_year:02}"
    )]
    NoSuchWeek {
        /// The ISO week-year asked for.
        year: i32,
        /// The week number asked for.
        week: u32,
        /// How many weeks that year has (52 or 53).
        weeks_in_year: u32,
    },
    /// Not of the form `YYYY-Qn`, or `n` is not 1 to 4.
    #[error("`{input}` is not a quarter: expected `YYYY-Qn` with n from 1 to 4, such as `2026-Q4`")]
    MalformedQuarter {
        /// The rejected text (shortened when long).
        input: String,
    },
    /// Not a four-digit year.
    #[error("`{input}` is not a year: expected four digits such as `2026`")]
    MalformedYear {
        /// The rejected text (shortened when long).
        input: String,
    },
    /// A year, date or instant outside 0001–9999.
    #[error("{what} is outside the supported years 0001 to 9999")]
    OutOfRange {
        /// What was out of range, e.g. `year 0` or `date 0000-12-31`.
        what: String,
    },
}

impl TimeError {
    /// Stable snake_case code for API errors: `invalid_week`,
    /// `invalid_quarter`, `invalid_year` or `date_out_of_range`.
    pub fn code(&self) -> &'static str {
        match self {
            TimeError::MalformedWeek { .. } | TimeError::NoSuchWeek { .. } => "invalid_week",
            TimeError::MalformedQuarter { .. } => "invalid_quarter",
            TimeError::MalformedYear { .. } => "invalid_year",
            TimeError::OutOfRange { .. } => "date_out_of_range",
        }
    }
}

/// Keeps error messages short when someone sends a long string.
fn shorten(input: &str) -> String {
    const MAX_CHARS: usize = 40;
    if input.chars().count() <= MAX_CHARS {
        input.to_owned()
    } else {
        let mut s: String = input.chars().take(MAX_CHARS).collect();
        s.push('…');
        s
    }
}

/// Exactly `n` ASCII digits, nothing else (no sign, no spaces).
fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
}

// ---------------------------------------------------------------- CST helpers

/// The CST local date and time of an instant, or `None` at the very end of
/// chrono's range where the local time is not representable.
fn checked_cst_naive(t: DateTime<Utc>) -> Option<NaiveDateTime> {
    t.naive_utc()
        .checked_add_signed(TimeDelta::seconds(CST.local_minus_utc().into()))
}

/// The instant seen in China Standard Time.
pub fn to_cst(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&CST)
}

/// The CST calendar date of an instant.
///
/// # Panics
/// Only for instants in the last eight hours chrono can represent (year
/// 262143), whose CST date chrono cannot represent.
///
/// ```
/// use chrono::{NaiveDate, TimeZone, Utc};
/// // 20:00 UTC on New Year's Eve is already New Year's Day in China.
/// let t = Utc.with_ymd_and_hms(2026, 12, 31, 20, 0, 0).unwrap();
/// assert_eq!(domain::time::cst_date(t), NaiveDate::from_ymd_opt(2027, 1, 1).unwrap());
/// ```
pub fn cst_date(t: DateTime<Utc>) -> NaiveDate {
    to_cst(t).date_naive()
}

/// The instant a CST calendar day begins (00:00 CST, i.e. 16:00 UTC the day
/// before).
///
/// # Panics
/// Only for the first day chrono can represent.
pub fn cst_day_start_utc(day: NaiveDate) -> DateTime<Utc> {
    (day.and_time(chrono::NaiveTime::MIN) - TimeDelta::seconds(CST.local_minus_utc().into()))
        .and_utc()
}

/// An instant as CST for people, to the second: `2026-11-23 08:00:00`.
/// Everything the service shows is CST, so no zone is printed.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// let t = Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap();
/// assert_eq!(domain::time::format_cst(t), "2026-11-23 08:00:00");
/// ```
pub fn format_cst(t: DateTime<Utc>) -> String {
    to_cst(t).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// An instant as CST in RFC 3339 with its offset, to the second:
/// `2026-11-23T08:00:00+08:00` (for files and exports read by programs).
///
/// ```
/// use chrono::{TimeZone, Utc};
/// let t = Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap();
/// assert_eq!(domain::time::format_cst_rfc3339(t), "2026-11-23T08:00:00+08:00");
/// ```
pub fn format_cst_rfc3339(t: DateTime<Utc>) -> String {
    to_cst(t).to_rfc3339_opts(SecondsFormat::Secs, false)
}

// ----------------------------------------------------------------------- Year

/// An assessment year: an ISO week-year in 0001–9999, made of four
/// [`Quarter`]s and 52 or 53 [`IsoWeek`]s. Serializes as a number (`2026`).
///
/// ```
/// use domain::time::Year;
/// let y = Year::new(2026)?;
/// assert_eq!(y.week_count(), 53);
/// assert_eq!(y.quarters().map(|q| q.to_string()), ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]);
/// assert_eq!(y.first_day().to_string(), "2025-12-29");
/// assert_eq!(y.last_day().to_string(), "2027-01-03");
/// # Ok::<(), domain::time::TimeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i32", into = "i32")]
pub struct Year(i32);

impl Year {
    /// The year, if within 0001–9999.
    pub fn new(year: i32) -> Result<Self, TimeError> {
        if (MIN_YEAR..=MAX_YEAR).contains(&year) {
            Ok(Year(year))
        } else {
            Err(TimeError::OutOfRange {
                what: format!("year {year}"),
            })
        }
    }

    /// The year of a week (its ISO week-year).
    pub fn of_week(week: IsoWeek) -> Self {
        Year(week.year)
    }

    /// The assessment year of the week containing `now`'s CST date (so on
    /// 2027-01-01 it is still 2026).
    pub fn current(now: DateTime<Utc>) -> Result<Self, TimeError> {
        IsoWeek::current(now).map(Year::of_week)
    }

    /// The number, e.g. `2026`.
    pub fn get(self) -> i32 {
        self.0
    }

    /// How many ISO weeks the year has: 52 or 53.
    pub fn week_count(self) -> u32 {
        // 28 December always lies in the last week of its year.
        NaiveDate::from_ymd_opt(self.0, 12, 28)
            .expect("supported years have a 28 December")
            .iso_week()
            .week()
    }

    /// Its four quarters, in order.
    pub fn quarters(self) -> [Quarter; 4] {
        [1, 2, 3, 4].map(|q| Quarter { year: self.0, q })
    }

    /// All its weeks, W01 to W52 or W53, in order.
    pub fn weeks(self) -> Vec<IsoWeek> {
        (1..=self.week_count())
            .map(|week| IsoWeek { year: self.0, week })
            .collect()
    }

    /// Its first week, W01.
    pub fn first_week(self) -> IsoWeek {
        IsoWeek {
            year: self.0,
            week: 1,
        }
    }

    /// Its last week, W52 or W53.
    pub fn last_week(self) -> IsoWeek {
        IsoWeek {
            year: self.0,
            week: self.week_count(),
        }
    }

    /// Monday of W01 (may be in December of the year before).
    pub fn first_day(self) -> NaiveDate {
        self.first_week().monday()
    }

    /// Sunday of the last week (may be in January of the year after).
    pub fn last_day(self) -> NaiveDate {
        self.last_week().sunday()
    }

    /// Monday 00:00 CST of W01, as an instant.
    pub fn start_utc(self) -> DateTime<Utc> {
        self.first_week().start_utc()
    }

    /// The Monday 00:00 CST after the last week, as an instant (exclusive).
    pub fn end_utc(self) -> DateTime<Utc> {
        self.last_week().end_utc()
    }
}

impl TryFrom<i32> for Year {
    type Error = TimeError;
    fn try_from(year: i32) -> Result<Self, TimeError> {
        Year::new(year)
    }
}

impl From<Year> for i32 {
    fn from(year: Year) -> i32 {
        year.0
    }
}

impl fmt::Display for Year {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.0)
    }
}

/// Parses exactly four digits, `2026`.
impl FromStr for Year {
    type Err = TimeError;
    fn from_str(s: &str) -> Result<Self, TimeError> {
        let malformed = || TimeError::MalformedYear { input: shorten(s) };
        if s.len() != 4 {
            return Err(malformed());
        }
        let year = digits(s.as_bytes()).ok_or_else(malformed)?;
        Year::new(year as i32)
    }
}

// -------------------------------------------------------------------- IsoWeek

/// An ISO 8601 week in CST, `2026-W48`: Monday 00:00 CST to the next Monday
/// 00:00 CST. Always a week that exists (`2025-W53` cannot be built).
/// Ordered by time; serializes as its name.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use domain::time::IsoWeek;
///
/// let w: IsoWeek = "2026-W53".parse()?;
/// assert_eq!(w.monday().to_string(), "2026-12-28");
/// assert_eq!(w.sunday().to_string(), "2027-01-03");
/// assert_eq!(w.start_utc(), Utc.with_ymd_and_hms(2026, 12, 27, 16, 0, 0).unwrap());
/// assert_eq!(w.next().unwrap().to_string(), "2027-W01");
/// assert!("2025-W53".parse::<IsoWeek>().is_err());
/// # Ok::<(), domain::time::TimeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IsoWeek {
    // Field order matters: the derived ordering is chronological.
    year: i32,
    week: u32,
}

impl IsoWeek {
    /// The week `week` (1-based) of ISO week-year `year`, if it exists.
    pub fn new(year: i32, week: u32) -> Result<Self, TimeError> {
        let weeks_in_year = Year::new(year)?.week_count();
        if week == 0 || week > weeks_in_year {
            return Err(TimeError::NoSuchWeek {
                year,
                week,
                weeks_in_year,
            });
        }
        Ok(IsoWeek { year, week })
    }

    /// The week containing a (CST) calendar date.
    pub fn of_date(date: NaiveDate) -> Result<Self, TimeError> {
        let iso = date.iso_week();
        Year::new(iso.year()).map_err(|_| TimeError::OutOfRange {
            what: format!("date {date}"),
        })?;
        Ok(IsoWeek {
            year: iso.year(),
            week: iso.week(),
        })
    }

    /// The week containing an instant, i.e. its CST date. A patrol counts for
    /// the week of the instant it started.
    pub fn of_instant(t: DateTime<Utc>) -> Result<Self, TimeError> {
        let local = checked_cst_naive(t).ok_or_else(|| TimeError::OutOfRange {
            what: format!("instant {t}"),
        })?;
        IsoWeek::of_date(local.date())
    }

    /// The week in progress at `now` (same as [`IsoWeek::of_instant`]).
    pub fn current(now: DateTime<Utc>) -> Result<Self, TimeError> {
        IsoWeek::of_instant(now)
    }

    /// ISO week-year: the calendar year of the week's Thursday.
    pub fn year(self) -> i32 {
        self.year
    }

    /// Week number within the year, 1 to 52 or 53.
    pub fn week(self) -> u32 {
        self.week
    }

    fn day(self, weekday: Weekday) -> NaiveDate {
        NaiveDate::from_isoywd_opt(self.year, self.week, weekday)
            .expect("an IsoWeek is always an existing week of a supported year")
    }

    /// Its Monday, the first day.
    pub fn monday(self) -> NaiveDate {
        self.day(Weekday::Mon)
    }

    /// Its Thursday, which decides its year and quarter.
    pub fn thursday(self) -> NaiveDate {
        self.day(Weekday::Thu)
    }

    /// Its Sunday, the last day.
    pub fn sunday(self) -> NaiveDate {
        self.day(Weekday::Sun)
    }

    /// Its seven days, Monday to Sunday.
    pub fn days(self) -> [NaiveDate; 7] {
        let monday = self.monday();
        std::array::from_fn(|i| monday + TimeDelta::days(i as i64))
    }

    /// Whether a (CST) calendar date lies in this week.
    pub fn contains_date(self, date: NaiveDate) -> bool {
        (self.monday()..=self.sunday()).contains(&date)
    }

    /// Monday 00:00 CST as an instant: the first instant of the week.
    pub fn start_utc(self) -> DateTime<Utc> {
        cst_day_start_utc(self.monday())
    }

    /// The next Monday 00:00 CST as an instant: the first instant *after* the
    /// week (the week is `start_utc() <= t < end_utc()`).
    pub fn end_utc(self) -> DateTime<Utc> {
        self.start_utc() + TimeDelta::days(7)
    }

    /// Whether an instant lies in this week (`start_utc() <= t < end_utc()`).
    pub fn contains_instant(self, t: DateTime<Utc>) -> bool {
        self.start_utc() <= t && t < self.end_utc()
    }

    /// The following week (`2026-W53` → `2027-W01`); `None` after 9999's
    /// last week.
    pub fn next(self) -> Option<Self> {
        if self.week < Year(self.year).week_count() {
            Some(IsoWeek {
                year: self.year,
                week: self.week + 1,
            })
        } else {
            Year::new(self.year + 1).ok().map(Year::first_week)
        }
    }

    /// The preceding week (`2027-W01` → `2026-W53`); `None` before 0001-W01.
    pub fn prev(self) -> Option<Self> {
        if self.week > 1 {
            Some(IsoWeek {
                year: self.year,
                week: self.week - 1,
            })
        } else {
            Year::new(self.year - 1).ok().map(Year::last_week)
        }
    }

    /// The quarter containing the week's Thursday.
    pub fn quarter(self) -> Quarter {
        // The Thursday's calendar year is the ISO week-year by definition.
        Quarter {
            year: self.year,
            q: self.thursday().month0() / 3 + 1,
        }
    }
}

impl fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-W{:02}", self.year, self.week)
    }
}

/// Parses exactly `YYYY-Www` (capital `W`, four-digit year, two-digit week).
impl FromStr for IsoWeek {
    type Err = TimeError;
    fn from_str(s: &str) -> Result<Self, TimeError> {
        let b = s.as_bytes();
        let malformed = |hint| TimeError::MalformedWeek {
            input: shorten(s),
            hint,
        };
        let shape_ok = b.len() == 8 && b[4] == b'-';
        if shape_ok && b[5] == b'w' {
            return Err(malformed("; the week marker is a capital `W`"));
        }
        if !shape_ok || b[5] != b'W' {
            return Err(malformed(""));
        }
        match (digits(&b[..4]), digits(&b[6..])) {
            (Some(year), Some(week)) => IsoWeek::new(year as i32, week),
            _ => Err(malformed("")),
        }
    }
}

impl TryFrom<String> for IsoWeek {
    type Error = TimeError;
    fn try_from(s: String) -> Result<Self, TimeError> {
        s.parse()
    }
}

impl From<IsoWeek> for String {
    fn from(w: IsoWeek) -> String {
        w.to_string()
    }
}

// -------------------------------------------------------------------- Quarter

/// A quarter of weeks, `2026-Q4`: the ISO weeks whose Thursday falls in the
/// calendar quarter; 12 to 14 weeks, usually 13 (see the module docs).
/// Ordered by time; serializes as its name.
///
/// ```
/// use domain::time::Quarter;
/// let q: Quarter = "2026-Q4".parse()?;
/// let weeks = q.weeks();
/// assert_eq!((weeks[0].to_string(), weeks[13].to_string()), ("2026-W40".into(), "2026-W53".into()));
/// assert_eq!(q.first_day().to_string(), "2026-09-28"); // a Monday in calendar Q3
/// assert_eq!(q.last_day().to_string(), "2027-01-03");
/// # Ok::<(), domain::time::TimeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Quarter {
    // Field order matters: the derived ordering is chronological.
    year: i32,
    q: u32,
}

impl Quarter {
    /// Quarter `q` (1 to 4) of `year`.
    pub fn new(year: i32, q: u32) -> Result<Self, TimeError> {
        Year::new(year)?;
        if !(1..=4).contains(&q) {
            return Err(TimeError::MalformedQuarter {
                input: format!("{year:04}-Q{q}"),
            });
        }
        Ok(Quarter { year, q })
    }

    /// The quarter a week belongs to (that of its Thursday).
    pub fn of_week(week: IsoWeek) -> Self {
        week.quarter()
    }

    /// The quarter of the week in progress at `now`: on Friday 2027-01-01 it
    /// is still `2026-Q4`, because that day is in `2026-W53`.
    pub fn current(now: DateTime<Utc>) -> Result<Self, TimeError> {
        IsoWeek::current(now).map(IsoWeek::quarter)
    }

    /// The year (the ISO week-year of all its weeks).
    pub fn year(self) -> i32 {
        self.year
    }

    /// The quarter number, 1 to 4.
    pub fn q(self) -> u32 {
        self.q
    }

    /// Its first week: the one containing the first Thursday of the calendar
    /// quarter.
    pub fn first_week(self) -> IsoWeek {
        let start = NaiveDate::from_ymd_opt(self.year, 3 * (self.q - 1) + 1, 1)
            .expect("supported quarters start on a representable day");
        let to_thursday = (7 + 3 - start.weekday().num_days_from_monday()) % 7;
        IsoWeek::of_date(start + TimeDelta::days(to_thursday.into()))
            .expect("the Thursday of a supported quarter is in a supported year")
    }

    /// Its last week: the one containing the last Thursday of the calendar
    /// quarter.
    pub fn last_week(self) -> IsoWeek {
        let end = if self.q == 4 {
            NaiveDate::from_ymd_opt(self.year, 12, 31)
        } else {
            NaiveDate::from_ymd_opt(self.year, 3 * self.q + 1, 1).and_then(|d| d.pred_opt())
        }
        .expect("supported quarters end on a representable day");
        let from_thursday = (end.weekday().num_days_from_monday() + 7 - 3) % 7;
        IsoWeek::of_date(end - TimeDelta::days(from_thursday.into()))
            .expect("the Thursday of a supported quarter is in a supported year")
    }

    /// Its weeks in order: usually 13, but 12 to 14 (2026-Q4 is `2026-W40`
    /// to `2026-W53`, 2027-Q1 is `2027-W01` to `2027-W12`).
    pub fn weeks(self) -> Vec<IsoWeek> {
        (self.first_week().week..=self.last_week().week)
            .map(|week| IsoWeek {
                year: self.year,
                week,
            })
            .collect()
    }

    /// Whether a week belongs to this quarter.
    pub fn contains_week(self, week: IsoWeek) -> bool {
        week.quarter() == self
    }

    /// Monday of its first week (may lie in the previous calendar quarter).
    pub fn first_day(self) -> NaiveDate {
        self.first_week().monday()
    }

    /// Sunday of its last week (may lie in the next calendar quarter).
    pub fn last_day(self) -> NaiveDate {
        self.last_week().sunday()
    }

    /// Monday 00:00 CST of its first week, as an instant.
    pub fn start_utc(self) -> DateTime<Utc> {
        self.first_week().start_utc()
    }

    /// The Monday 00:00 CST after its last week, as an instant (exclusive).
    pub fn end_utc(self) -> DateTime<Utc> {
        self.last_week().end_utc()
    }

    /// The following quarter; `None` after 9999-Q4.
    pub fn next(self) -> Option<Self> {
        if self.q < 4 {
            Some(Quarter {
                year: self.year,
                q: self.q + 1,
            })
        } else {
            Quarter::new(self.year + 1, 1).ok()
        }
    }

    /// The preceding quarter; `None` before 0001-Q1.
    pub fn prev(self) -> Option<Self> {
        if self.q > 1 {
            Some(Quarter {
                year: self.year,
                q: self.q - 1,
            })
        } else {
            Quarter::new(self.year - 1, 4).ok()
        }
    }

    /// The assessment year it belongs to.
    pub fn assessment_year(self) -> Year {
        Year(self.year)
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-Q{}", self.year, self.q)
    }
}

/// Parses exactly `YYYY-Qn` (capital `Q`, four-digit year, n from 1 to 4).
impl FromStr for Quarter {
    type Err = TimeError;
    fn from_str(s: &str) -> Result<Self, TimeError> {
        let b = s.as_bytes();
        let malformed = || TimeError::MalformedQuarter { input: shorten(s) };
        if b.len() != 7 || b[4] != b'-' || b[5] != b'Q' {
            return Err(malformed());
        }
        match (digits(&b[..4]), digits(&b[6..])) {
            (Some(year), Some(q @ 1..=4)) => Quarter::new(year as i32, q),
            _ => Err(malformed()),
        }
    }
}

impl TryFrom<String> for Quarter {
    type Error = TimeError;
    fn try_from(s: String) -> Result<Self, TimeError> {
        s.parse()
    }
}

impl From<Quarter> for String {
    fn from(q: Quarter) -> String {
        q.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, s).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn week(s: &str) -> IsoWeek {
        s.parse().unwrap()
    }

    #[test]
    fn instants_fall_in_the_week_of_their_cst_date() {
        // (instant in UTC, CST date, week) — hand-computed.
        let cases = [
            // Monday 2026-11-23 00:20 CST = Sunday 16:20 UTC: the new week.
            (utc(2026, 11, 22, 16, 20, 0), date(2026, 11, 23), "2026-W48"),
            // Sunday 2026-11-22 23:59:59 CST: still the old week.
            (
                utc(2026, 11, 22, 15, 59, 59),
                date(2026, 11, 22),
                "2026-W47",
            ),
            // Monday 00:00:00 CST exactly: the new week.
            (utc(2026, 11, 22, 16, 0, 0), date(2026, 11, 23), "2026-W48"),
            // 2026-12-31 20:00 UTC is Friday 2027-01-01 04:00 CST, in 2026-W53.
            (utc(2026, 12, 31, 20, 0, 0), date(2027, 1, 1), "2026-W53"),
            // Sunday 2027-01-03 23:59:59 CST: last second of 2026-W53.
            (utc(2027, 1, 3, 15, 59, 59), date(2027, 1, 3), "2026-W53"),
            // Monday 2027-01-04 00:00 CST: 2027-W01.
            (utc(2027, 1, 3, 16, 0, 0), date(2027, 1, 4), "2027-W01"),
            // 2025-12-29 is the Monday of 2026-W01.
            (utc(2025, 12, 28, 16, 0, 0), date(2025, 12, 29), "2026-W01"),
            (
                utc(2025, 12, 28, 15, 59, 59),
                date(2025, 12, 28),
                "2025-W52",
            ),
        ];
        for (t, cst_day, name) in cases {
            assert_eq!(cst_date(t), cst_day, "{t}");
            let w = IsoWeek::of_instant(t).unwrap();
            assert_eq!(w.to_string(), name, "{t}");
            assert!(w.contains_instant(t));
            assert!(w.contains_date(cst_day));
        }
    }

    #[test]
    fn week_boundaries() {
        // (week, Monday, Sunday, start_utc, Thursday, quarter)
        #[rustfmt::skip]
        let cases = [
            ("2026-W48", date(2026, 11, 23), date(2026, 11, 29), utc(2026, 11, 22, 16, 0, 0), date(2026, 11, 26), "2026-Q4"),
            ("2026-W53", date(2026, 12, 28), date(2027, 1, 3), utc(2026, 12, 27, 16, 0, 0), date(2026, 12, 31), "2026-Q4"),
            ("2027-W01", date(2027, 1, 4), date(2027, 1, 10), utc(2027, 1, 3, 16, 0, 0), date(2027, 1, 7), "2027-Q1"),
            ("2026-W01", date(2025, 12, 29), date(2026, 1, 4), utc(2025, 12, 28, 16, 0, 0), date(2026, 1, 1), "2026-Q1"),
            // Thursday 2026-10-01 puts W40 in Q4 although it starts in September.
            ("2026-W40", date(2026, 9, 28), date(2026, 10, 4), utc(2026, 9, 27, 16, 0, 0), date(2026, 10, 1), "2026-Q4"),
            ("2026-W39", date(2026, 9, 21), date(2026, 9, 27), utc(2026, 9, 20, 16, 0, 0), date(2026, 9, 24), "2026-Q3"),
        ];
        for (name, monday, sunday, start, thursday, quarter) in cases {
            let w = week(name);
            assert_eq!(w.monday(), monday, "{name}");
            assert_eq!(w.sunday(), sunday, "{name}");
            assert_eq!(w.thursday(), thursday, "{name}");
            assert_eq!(w.start_utc(), start, "{name}");
            assert_eq!(w.end_utc(), start + TimeDelta::days(7), "{name}");
            assert_eq!(w.quarter().to_string(), quarter, "{name}");
            assert_eq!(w.days()[0], monday);
            assert_eq!(w.days()[6], sunday);
            assert!(
                w.days()
                    .windows(2)
                    .all(|p| p[1] == p[0].succ_opt().unwrap())
            );
        }
    }

    #[test]
    fn week_53_exists_only_in_long_years() {
        assert_eq!(Year::new(2026).unwrap().week_count(), 53);
        assert_eq!(Year::new(2025).unwrap().week_count(), 52);
        assert_eq!(Year::new(2020).unwrap().week_count(), 53); // leap year starting Wednesday
        assert_eq!(Year::new(2027).unwrap().week_count(), 52);
        assert!(IsoWeek::new(2026, 53).is_ok());
        assert_eq!(
            "2025-W53".parse::<IsoWeek>(),
            Err(TimeError::NoSuchWeek {
                year: 2025,
                week: 53,
                weeks_in_year: 52
            })
        );
        assert_eq!(
            "2025-W53".parse::<IsoWeek>().unwrap_err().to_string(),
            "2025-W53 does not exist: 2025 has the weeks W01 to W52"
        );
        assert_eq!(week("2026-W53").next(), Some(week("2027-W01")));
        assert_eq!(week("2027-W01").prev(), Some(week("2026-W53")));
        assert_eq!(week("2025-W52").next(), Some(week("2026-W01")));
        assert_eq!(week("2026-W01").prev(), Some(week("2025-W52")));
        assert_eq!(week("2027-W01").monday(), date(2027, 1, 4));
    }

    #[test]
    fn week_names_parse_strictly() {
        for ok in ["2026-W48", "2026-W01", "2026-W53", "0001-W01", "9999-W52"] {
            assert_eq!(week(ok).to_string(), ok);
        }
        let bad = [
            ("2026-w48", "invalid_week"),
            ("2026-W5", "invalid_week"),
            ("2026W48", "invalid_week"),
            ("26-W48", "invalid_week"),
            (" 2026-W48", "invalid_week"),
            ("2026-W48 ", "invalid_week"),
            ("2026-W+1", "invalid_week"),
            ("2026-W00", "invalid_week"),
            ("2026-W54", "invalid_week"),
            ("2026-W４８", "invalid_week"),
            ("0000-W10", "date_out_of_range"),
            ("", "invalid_week"),
        ];
        for (input, code) in bad {
            let err = input.parse::<IsoWeek>().unwrap_err();
            assert_eq!(err.code(), code, "{input}: {err}");
        }
        assert_eq!(
            "2026-w48".parse::<IsoWeek>().unwrap_err().to_string(),
            "`2026-w48` is not a week: expected `YYYY-Www` such as `2026-W48`; the week marker is a capital `W`"
        );
        let long = "x".repeat(1000).parse::<IsoWeek>().unwrap_err().to_string();
        assert!(long.len() < 120, "{long}");
    }

    #[test]
    fn weeks_and_quarters_serialize_as_names() {
        let w = week("2026-W48");
        assert_eq!(serde_json::to_string(&w).unwrap(), r#""2026-W48""#);
        assert_eq!(serde_json::from_str::<IsoWeek>(r#""2026-W48""#).unwrap(), w);
        assert!(serde_json::from_str::<IsoWeek>(r#""2025-W53""#).is_err());
        assert!(serde_json::from_str::<IsoWeek>("202648").is_err());
        let q: Quarter = "2026-Q4".parse().unwrap();
        assert_eq!(serde_json::to_string(&q).unwrap(), r#""2026-Q4""#);
        assert_eq!(serde_json::from_str::<Quarter>(r#""2026-Q4""#).unwrap(), q);
        let y = Year::new(2026).unwrap();
        assert_eq!(serde_json::to_string(&y).unwrap(), "2026");
        assert_eq!(serde_json::from_str::<Year>("2026").unwrap(), y);
        assert!(serde_json::from_str::<Year>("0").is_err());
        // As map keys, as the quarterly compliance answer uses them.
        let map = std::collections::BTreeMap::from([(w, 1)]);
        let json = serde_json::to_string(&map).unwrap();
        assert_eq!(json, r#"{"2026-W48":1}"#);
        assert_eq!(
            serde_json::from_str::<std::collections::BTreeMap<IsoWeek, i32>>(&json).unwrap(),
            map
        );
    }

    #[test]
    fn quarters_are_runs_of_weeks() {
        // (quarter, first week, last week, count, first day, last day)
        #[rustfmt::skip]
        let cases = [
            ("2026-Q1", "2026-W01", "2026-W13", 13, date(2025, 12, 29), date(2026, 3, 29)),
            ("2026-Q2", "2026-W14", "2026-W26", 13, date(2026, 3, 30), date(2026, 6, 28)),
            ("2026-Q3", "2026-W27", "2026-W39", 13, date(2026, 6, 29), date(2026, 9, 27)),
            ("2026-Q4", "2026-W40", "2026-W53", 14, date(2026, 9, 28), date(2027, 1, 3)),
            ("2025-Q4", "2025-W40", "2025-W52", 13, date(2025, 9, 29), date(2025, 12, 28)),
            // Q1 2027 (Fri 1 Jan to Wed 31 Mar) has only 12 Thursdays.
            ("2027-Q1", "2027-W01", "2027-W12", 12, date(2027, 1, 4), date(2027, 3, 28)),
            ("2027-Q2", "2027-W13", "2027-W25", 13, date(2027, 3, 29), date(2027, 6, 27)),
            // Q3 2027 (Thu 1 Jul to Thu 30 Sep) has 14.
            ("2027-Q3", "2027-W26", "2027-W39", 14, date(2027, 6, 28), date(2027, 10, 3)),
            ("2027-Q4", "2027-W40", "2027-W52", 13, date(2027, 10, 4), date(2028, 1, 2)),
        ];
        for (name, first, last, count, first_day, last_day) in cases {
            let q: Quarter = name.parse().unwrap();
            let weeks = q.weeks();
            assert_eq!(weeks.len(), count, "{name}");
            assert_eq!(weeks[0], week(first), "{name}");
            assert_eq!(*weeks.last().unwrap(), week(last), "{name}");
            assert_eq!(q.first_day(), first_day, "{name}");
            assert_eq!(q.last_day(), last_day, "{name}");
            assert!(
                weeks
                    .iter()
                    .all(|w| w.quarter() == q && q.contains_week(*w))
            );
            assert_eq!(q.to_string(), name);
        }
        let q4: Quarter = "2026-Q4".parse().unwrap();
        assert_eq!(q4.next().unwrap().to_string(), "2027-Q1");
        assert_eq!(q4.next().unwrap().prev(), Some(q4));
        // New Year's Day 2027 (CST) is still in the running 2026-Q4.
        assert_eq!(Quarter::current(utc(2026, 12, 31, 20, 0, 0)).unwrap(), q4);
        assert_eq!(
            Year::current(utc(2026, 12, 31, 20, 0, 0)).unwrap().get(),
            2026
        );
    }

    #[test]
    fn quarter_names_parse_strictly() {
        for input in [
            "2026-Q0", "2026-Q5", "2026-q4", "2026Q4", "2026-Q44", "26-Q4", "0000-Q1",
        ] {
            assert!(input.parse::<Quarter>().is_err(), "{input}");
        }
        assert_eq!(
            "2026-q4".parse::<Quarter>().unwrap_err().code(),
            "invalid_quarter"
        );
        assert_eq!(Quarter::new(2026, 5).unwrap_err().code(), "invalid_quarter");
        assert_eq!("2026".parse::<Year>().unwrap().get(), 2026);
        assert_eq!("26".parse::<Year>().unwrap_err().code(), "invalid_year");
        assert_eq!(
            "0000".parse::<Year>().unwrap_err().code(),
            "date_out_of_range"
        );
    }

    #[test]
    fn range_ends() {
        assert_eq!(
            IsoWeek::of_date(date(1, 1, 1)).unwrap().to_string(),
            "0001-W01"
        );
        assert_eq!(
            IsoWeek::of_date(date(0, 12, 31)).unwrap_err().code(),
            "date_out_of_range"
        );
        // 10000-01-02 is the Sunday of 9999-W52.
        assert_eq!(
            IsoWeek::of_date(date(10000, 1, 2)).unwrap().to_string(),
            "9999-W52"
        );
        assert!(IsoWeek::of_date(date(10000, 1, 3)).is_err());
        assert_eq!(week("0001-W01").prev(), None);
        assert_eq!(week("9999-W52").next(), None);
        assert!(IsoWeek::of_instant(DateTime::<Utc>::MAX_UTC).is_err());
        assert!(IsoWeek::of_instant(DateTime::<Utc>::MIN_UTC).is_err());
        assert_eq!("9999-Q4".parse::<Quarter>().unwrap().next(), None);
        assert_eq!("0001-Q1".parse::<Quarter>().unwrap().prev(), None);
    }

    #[test]
    fn formatting_helpers_show_cst() {
        let t = utc(2026, 11, 22, 16, 20, 5);
        assert_eq!(format_cst(t), "2026-11-23 00:20:05");
        assert_eq!(format_cst_rfc3339(t), "2026-11-23T00:20:05+08:00");
        assert_eq!(to_cst(t).to_string(), "2026-11-23 00:20:05 +08:00");
        assert_eq!(
            cst_day_start_utc(date(2026, 11, 23)),
            utc(2026, 11, 22, 16, 0, 0)
        );
    }

    #[test]
    fn fixed_offset_agrees_with_tzdata_since_1992() {
        use chrono::Offset;
        use chrono_tz::Asia::Shanghai;
        // Every 6 hours from 1992 to 2100 (about 157k instants).
        let mut t = utc(1992, 1, 1, 0, 0, 0);
        while t < utc(2100, 1, 1, 0, 0, 0) {
            assert_eq!(t.with_timezone(&Shanghai).offset().fix(), CST, "{t}");
            t += TimeDelta::hours(6);
        }
        // ... and tzdata does differ in the summer of 1988, which is why the
        // rule's fixed offset is used.
        let summer_1988 = utc(1988, 7, 1, 0, 0, 0);
        assert_ne!(summer_1988.with_timezone(&Shanghai).offset().fix(), CST);
    }

    /// Instants from the first to the last supported week.
    fn supported_instant() -> impl Strategy<Value = DateTime<Utc>> {
        let lo = week("0001-W01").start_utc().timestamp();
        let hi = week("9999-W52").end_utc().timestamp();
        (lo..hi, 0u32..1_000_000_000).prop_map(|(s, ns)| DateTime::from_timestamp(s, ns).unwrap())
    }

    proptest! {
        #[test]
        fn every_instant_is_in_exactly_one_week(t in supported_instant()) {
            let w = IsoWeek::of_instant(t).unwrap();
            prop_assert!(w.start_utc() <= t && t < w.end_utc());
            prop_assert_eq!(w.end_utc() - w.start_utc(), TimeDelta::days(7));
            prop_assert!(w.contains_date(cst_date(t)));
            // Neighbours touch it and do not contain t.
            if let Some(p) = w.prev() {
                prop_assert_eq!(p.end_utc(), w.start_utc());
                prop_assert!(!p.contains_instant(t));
            }
            if let Some(n) = w.next() {
                prop_assert_eq!(n.start_utc(), w.end_utc());
                prop_assert!(!n.contains_instant(t));
            }
            prop_assert_eq!(w.monday().weekday(), Weekday::Mon);
            prop_assert_eq!(w.to_string().parse::<IsoWeek>().unwrap(), w);
        }

        #[test]
        fn quarters_partition_the_years_weeks(year in MIN_YEAR..=MAX_YEAR) {
            let y = Year::new(year).unwrap();
            let from_quarters: Vec<IsoWeek> =
                y.quarters().iter().flat_map(|q| q.weeks()).collect();
            prop_assert_eq!(&from_quarters, &y.weeks());
            prop_assert!(from_quarters.windows(2).all(|p| p[0].next() == Some(p[1])));
            for q in y.quarters() {
                let n = q.weeks().len();
                let allowed = match q.q() { 1 => 12..=13, 2 => 13..=13, _ => 13..=14 };
                prop_assert!(allowed.contains(&n), "{} has {} weeks", q, n);
                prop_assert!(q.weeks().iter().all(|w| w.quarter() == q));
                prop_assert_eq!(q.last_day() - q.first_day(), TimeDelta::days(7 * n as i64 - 1));
                if let Some(next) = q.next() {
                    prop_assert_eq!(next.first_day(), q.last_day().succ_opt().unwrap());
                    prop_assert_eq!(next.start_utc(), q.end_utc());
                }
                prop_assert_eq!(q.to_string().parse::<Quarter>().unwrap(), q);
            }
            prop_assert_eq!(y.first_day().weekday(), Weekday::Mon);
        }
    }
}
