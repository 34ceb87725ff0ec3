//! The weekly rule "每名河长每周巡河不低于一次": every chief patrols at least
//! once a week, and the quarterly (or yearly) compliance rate built on it.
//!
//! Definitions (DESIGN.md, "Rules"; all dates are CST calendar days, weeks
//! are [`IsoWeek`]s):
//!
//! - A chief is **in office** on the days `appointed_on ..= left_on`
//!   ([`Tenure`]). `left_on` is the *last day in office* (inclusive), like
//!   the inclusive `to` of an exemption; a chief still in office has none.
//!   A week counts as in office when the chief is in office on at least one
//!   of its days, so a chief appointed on a Wednesday owes that week.
//! - The status of a week ([`week_status`]) is the first that applies of:
//!   1. `not_in_office`: in office on no day of the week;
//!   2. `compliant`: at least one valid patrol *started* in the week (two
//!      patrols still make one compliant week);
//!   3. `exempt`: approved exemptions ([`DateRange`]s, inclusive) together
//!      cover every day of the week on which the chief is in office; a chief
//!      in office Monday to Wednesday only is exempt with an exemption for
//!      Monday to Wednesday, while an exemption for part of those days
//!      exempts nothing;
//!   4. `pending`: the week is not over yet (`now < week.end_utc()`): this
//!      includes weeks that have not started. It is the week that must be
//!      over, not the tenure: a chief who left on Tuesday is `pending` until
//!      Sunday 24:00 CST, then `missed`;
//!   5. `missed`.
//! - The **compliance rate** of a quarter (or year) is
//!   `compliant / required`, where `required` = weeks in office − exempt
//!   weeks − pending weeks, which is always `compliant + missed`.
//!   DESIGN defines `required` as "weeks in office − exempt weeks"; the two
//!   agree once the quarter is over. During a running quarter a town office
//!   wants the rate *so far*: the current week (until a patrol makes it
//!   compliant) and the weeks to come are not yet owed, so they are neither
//!   counted as missed nor as required. When nothing is required (a chief
//!   appointed this week, or exempt every week) the rate is `None`,
//!   serialized as `null`: neither 0 % nor 100 % would be true.
//! - The **overdue list** of the current week is the chiefs whose status for
//!   it is `pending`; [`days_left_in_week`] tells them how long they have.
//!
//! ```
//! use chrono::{NaiveDate, TimeZone, Utc};
//! use domain::compliance::{week_status, DateRange, Tenure, WeekStatus};
//! use domain::time::IsoWeek;
//!
//! let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
//! let week: IsoWeek = "2026-W48".parse()?; // Mon 23 to Sun 29 November 2026
//! let after = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
//! // Left office on Wednesday the 25th, on leave Monday to Wednesday: exempt.
//! let tenure = Tenure::new(day(1), Some(day(25)))?;
//! let leave = [DateRange::new(day(23), day(25))?];
//! assert_eq!(week_status(week, &tenure, &leave, 0, after), WeekStatus::Exempt);
//! // Still in office all week: Monday to Wednesday off is not enough.
//! let tenure = Tenure::since(day(1));
//! assert_eq!(week_status(week, &tenure, &leave, 0, after), WeekStatus::Missed);
//! assert_eq!(week_status(week, &tenure, &leave, 1, after), WeekStatus::Compliant);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::time::{IsoWeek, Quarter, Year, cst_date};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Why a tenure or a date range could not be built. Each error has a stable
/// [`code`](ComplianceError::code) and a message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComplianceError {
    /// `left_on` before `appointed_on`.
    #[error(
        "left_on {left_on} is before appointed_on {appointed_on}: left_on is the last day in office"
    )]
    LeftBeforeAppointed {
        /// First day in office.
        appointed_on: NaiveDate,
        /// The rejected last day in office.
        left_on: NaiveDate,
    },
    /// `to` before `from`.
    #[error("to {to} is before from {from}: both dates are inclusive, a single day has from = to")]
    ReversedRange {
        /// First day.
        from: NaiveDate,
        /// The rejected last day.
        to: NaiveDate,
    },
    /// An unknown weekly status name.
    #[error(
        "`{0}` is not a weekly status: expected not_in_office, compliant, exempt, pending or missed"
    )]
    UnknownStatus(String),
    /// A [`WeekRun`] longer than a [`WeekMask`] holds.
    #[error("{0} weeks in one run: at most 64 (a year has 53)")]
    TooManyWeeks(usize),
}

impl ComplianceError {
    /// Stable snake_case code for API errors: `invalid_tenure`,
    /// `invalid_date_range`, `invalid_week_status` or `too_many_weeks`.
    pub fn code(&self) -> &'static str {
        match self {
            ComplianceError::LeftBeforeAppointed { .. } => "invalid_tenure",
            ComplianceError::ReversedRange { .. } => "invalid_date_range",
            ComplianceError::UnknownStatus(_) => "invalid_week_status",
            ComplianceError::TooManyWeeks(_) => "too_many_weeks",
        }
    }
}

// --------------------------------------------------------------------- Tenure

/// When a chief is in office: every CST day from `appointed_on` to `left_on`,
/// both inclusive (`left_on` is the last day in office), or open-ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawTenure")]
pub struct Tenure {
    appointed_on: NaiveDate,
    left_on: Option<NaiveDate>,
}

#[derive(Deserialize)]
struct RawTenure {
    appointed_on: NaiveDate,
    #[serde(default)]
    left_on: Option<NaiveDate>,
}

impl TryFrom<RawTenure> for Tenure {
    type Error = ComplianceError;
    fn try_from(raw: RawTenure) -> Result<Self, ComplianceError> {
        Tenure::new(raw.appointed_on, raw.left_on)
    }
}

impl Tenure {
    /// In office from `appointed_on` to `left_on` (inclusive; the same day
    /// for a single day), or still in office when `left_on` is `None`.
    pub fn new(
        appointed_on: NaiveDate,
        left_on: Option<NaiveDate>,
    ) -> Result<Self, ComplianceError> {
        match left_on {
            Some(left_on) if left_on < appointed_on => Err(ComplianceError::LeftBeforeAppointed {
                appointed_on,
                left_on,
            }),
            _ => Ok(Tenure {
                appointed_on,
                left_on,
            }),
        }
    }

    /// In office since `appointed_on`, still serving.
    pub fn since(appointed_on: NaiveDate) -> Self {
        Tenure {
            appointed_on,
            left_on: None,
        }
    }

    /// The first day in office.
    pub fn appointed_on(&self) -> NaiveDate {
        self.appointed_on
    }

    /// The last day in office, if the chief has left.
    pub fn left_on(&self) -> Option<NaiveDate> {
        self.left_on
    }

    /// Whether the chief is in office on a CST day.
    pub fn in_office_on(&self, day: NaiveDate) -> bool {
        self.appointed_on <= day && self.left_on.is_none_or(|last| day <= last)
    }

    /// The days of a week on which the chief is in office (possibly none).
    pub fn days_in_office(&self, week: IsoWeek) -> Vec<NaiveDate> {
        week.days()
            .into_iter()
            .filter(|d| self.in_office_on(*d))
            .collect()
    }

    /// Whether the week counts as in office: in office on at least one day.
    pub fn in_office_during(&self, week: IsoWeek) -> bool {
        self.appointed_on <= week.sunday() && self.left_on.is_none_or(|last| week.monday() <= last)
    }
}

// ------------------------------------------------------------------ DateRange

/// An inclusive range of CST days, `from ..= to` (an exemption 请假/免巡).
/// Serializes as `{"from": "2026-07-13", "to": "2026-07-19"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawDateRange")]
pub struct DateRange {
    from: NaiveDate,
    to: NaiveDate,
}

#[derive(Deserialize)]
struct RawDateRange {
    from: NaiveDate,
    to: NaiveDate,
}

impl TryFrom<RawDateRange> for DateRange {
    type Error = ComplianceError;
    fn try_from(raw: RawDateRange) -> Result<Self, ComplianceError> {
        DateRange::new(raw.from, raw.to)
    }
}

impl DateRange {
    /// The days `from ..= to`; `to` may equal `from`.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, ComplianceError> {
        if to < from {
            return Err(ComplianceError::ReversedRange { from, to });
        }
        Ok(DateRange { from, to })
    }

    /// A single day.
    pub fn day(day: NaiveDate) -> Self {
        DateRange { from: day, to: day }
    }

    /// The first day.
    pub fn from(&self) -> NaiveDate {
        self.from
    }

    /// The last day (inclusive).
    pub fn to(&self) -> NaiveDate {
        self.to
    }

    /// Whether `day` is one of its days.
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }

    /// How many days it spans (at least 1).
    pub fn day_count(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// Whether the two ranges share a day or one starts the day after the
    /// other ends, i.e. whether their union is one range.
    pub fn touches(&self, other: &DateRange) -> bool {
        let (first, second) = if self.from <= other.from {
            (self, other)
        } else {
            (other, self)
        };
        // `None` only when `first` ends on chrono's last day: then it
        // reaches everything after it.
        first.to.succ_opt().is_none_or(|next| second.from <= next)
    }
}

impl fmt::Display for DateRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..={}", self.from, self.to)
    }
}

/// Merges overlapping and adjacent ranges (13–15 and 16–19 July become
/// 13–19 July). The result is sorted, and its ranges are separated by at
/// least one day not covered.
///
/// ```
/// use chrono::NaiveDate;
/// use domain::compliance::{merge_ranges, DateRange};
/// let d = |day| NaiveDate::from_ymd_opt(2026, 7, day).unwrap();
/// let r = |a, b| DateRange::new(d(a), d(b)).unwrap();
/// assert_eq!(merge_ranges(&[r(16, 19), r(13, 15), r(22, 23), r(23, 24)]), [r(13, 19), r(22, 24)]);
/// ```
pub fn merge_ranges(ranges: &[DateRange]) -> Vec<DateRange> {
    let mut sorted = ranges.to_vec();
    sorted.sort_unstable();
    let mut merged: Vec<DateRange> = Vec::with_capacity(sorted.len());
    for range in sorted {
        match merged.last_mut() {
            Some(last) if last.touches(&range) => last.to = last.to.max(range.to),
            _ => merged.push(range),
        }
    }
    merged
}

// ----------------------------------------------------------------- WeekStatus

/// A chief's status for one week; see the module docs for the order in which
/// they are decided. Serialized in snake_case (`"not_in_office"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeekStatus {
    /// Not in office on any day of the week.
    NotInOffice,
    /// At least one valid patrol started in the week.
    Compliant,
    /// Approved exemptions cover every day of the week in office.
    Exempt,
    /// No valid patrol yet and the week is not over.
    Pending,
    /// No valid patrol, no exemption, and the week is over.
    Missed,
}

impl WeekStatus {
    /// Every status, in order of precedence.
    pub const ALL: [WeekStatus; 5] = [
        WeekStatus::NotInOffice,
        WeekStatus::Compliant,
        WeekStatus::Exempt,
        WeekStatus::Pending,
        WeekStatus::Missed,
    ];

    /// The snake_case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            WeekStatus::NotInOffice => "not_in_office",
            WeekStatus::Compliant => "compliant",
            WeekStatus::Exempt => "exempt",
            WeekStatus::Pending => "pending",
            WeekStatus::Missed => "missed",
        }
    }

    /// Whether the week counts as in office (every status but
    /// `not_in_office`).
    pub fn in_office(self) -> bool {
        self != WeekStatus::NotInOffice
    }

    /// Whether the week is owed and decided, i.e. counts in `required`:
    /// `compliant` or `missed`.
    pub fn is_required(self) -> bool {
        matches!(self, WeekStatus::Compliant | WeekStatus::Missed)
    }
}

impl fmt::Display for WeekStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WeekStatus {
    type Err = ComplianceError;
    fn from_str(s: &str) -> Result<Self, ComplianceError> {
        WeekStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| ComplianceError::UnknownStatus(s.chars().take(40).collect()))
    }
}

/// The status of one chief for one week.
///
/// `valid_patrol_count` is the number of valid patrols the chief *started*
/// in the week (CST); `exemptions` are the chief's approved exemptions, in
/// any order, overlapping or not; `now` decides whether the week is over.
pub fn week_status(
    week: IsoWeek,
    tenure: &Tenure,
    exemptions: &[DateRange],
    valid_patrol_count: u32,
    now: DateTime<Utc>,
) -> WeekStatus {
    WeekDates::of(week).status(tenure, exemptions, valid_patrol_count > 0, now)
}

/// A week with the dates the rule compares against, computed once: a
/// province's quarter asks the rule about the same 13 weeks a million times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WeekDates {
    week: IsoWeek,
    monday: NaiveDate,
    sunday: NaiveDate,
    end_utc: DateTime<Utc>,
}

impl WeekDates {
    fn of(week: IsoWeek) -> Self {
        WeekDates {
            week,
            monday: week.monday(),
            sunday: week.sunday(),
            end_utc: week.end_utc(),
        }
    }

    /// The one definition of a week's status (module docs, in order of
    /// precedence); `compliant` = at least one valid patrol started in it.
    fn status(
        &self,
        tenure: &Tenure,
        exemptions: &[DateRange],
        compliant: bool,
        now: DateTime<Utc>,
    ) -> WeekStatus {
        // Cheap tests first, without listing the days: most weeks are
        // compliant, and most chiefs have no exemption.
        if tenure.appointed_on > self.sunday
            || tenure.left_on.is_some_and(|last| last < self.monday)
        {
            WeekStatus::NotInOffice
        } else if compliant {
            WeekStatus::Compliant
        } else if !exemptions.is_empty()
            && self
                .week
                .days()
                .into_iter()
                .filter(|day| tenure.in_office_on(*day))
                .all(|day| exemptions.iter().any(|r| r.contains(day)))
        {
            // (In office on at least one day here, so no exemption means
            // not exempt.)
            WeekStatus::Exempt
        } else if now < self.end_utc {
            WeekStatus::Pending
        } else {
            WeekStatus::Missed
        }
    }
}

/// Whole CST days left in the current week, today included: 7 on Monday,
/// 1 on Sunday (the last day to patrol). For the overdue list.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// // Sunday 2026-11-22 16:20 UTC is Monday 00:20 CST.
/// let monday = Utc.with_ymd_and_hms(2026, 11, 22, 16, 20, 0).unwrap();
/// assert_eq!(domain::compliance::days_left_in_week(monday), 7);
/// ```
pub fn days_left_in_week(now: DateTime<Utc>) -> u32 {
    7 - cst_date(now).weekday().num_days_from_monday()
}

// ------------------------------------------------------------------- Summary

/// A chief's compliance over a run of weeks (a quarter or a year): the status
/// of each week and the counts the assessment uses. See the module docs for
/// why `required` leaves out pending weeks.
///
/// Serialized with the field names of `GET /api/v1/compliance?quarter=`:
/// `{"weeks": {"2026-W40": "compliant", ...}, "in_office": 9, "compliant": 6,
/// "exempt": 1, "missed": 2, "pending": 0, "required": 8, "rate": 0.75}`.
///
/// `W` holds the weeks' statuses: a map by default; [`WeekStatuses`] (one
/// allocation, same JSON) from [`WeekRun::summarize`] for many chiefs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplianceSummary<W = BTreeMap<IsoWeek, WeekStatus>> {
    /// The status of every week of the period, `not_in_office` ones included.
    pub weeks: W,
    /// Weeks in office (every status but `not_in_office`).
    pub in_office: u32,
    /// Weeks with at least one valid patrol.
    pub compliant: u32,
    /// Weeks fully covered by exemptions (and without a valid patrol).
    pub exempt: u32,
    /// Weeks over without a valid patrol or exemption.
    pub missed: u32,
    /// Weeks not over yet, without a valid patrol or exemption.
    pub pending: u32,
    /// Weeks owed so far: `in_office − exempt − pending` = `compliant + missed`.
    pub required: u32,
    /// `compliant / required`, in 0..=1; `None` (`null`) when `required` is 0.
    pub rate: Option<f64>,
}

/// The summary of a quarter (`GET /api/v1/compliance?quarter=`).
pub type QuarterSummary = ComplianceSummary;

/// Summarizes any run of weeks; [`quarter_summary`] and [`year_summary`]
/// are the usual ones. `valid_by_week` holds the number of valid patrols
/// started in each week; a week missing from it had none. Many chiefs over
/// the same weeks: build a [`WeekRun`] once and use
/// [`WeekRun::summarize`].
pub fn summarize(
    weeks: impl IntoIterator<Item = IsoWeek>,
    tenure: &Tenure,
    exemptions: &[DateRange],
    valid_by_week: &BTreeMap<IsoWeek, u32>,
    now: DateTime<Utc>,
) -> ComplianceSummary {
    let weeks: Vec<WeekDates> = weeks.into_iter().map(WeekDates::of).collect();
    summarize_weeks(
        &weeks,
        tenure,
        exemptions,
        |_, week| valid_by_week.get(&week).is_some_and(|n| *n > 0),
        now,
    )
}

/// The summary over `weeks`, `compliant(i, week)` telling whether the i-th
/// week has a valid patrol.
fn summarize_weeks<W: FromIterator<(IsoWeek, WeekStatus)>>(
    weeks: &[WeekDates],
    tenure: &Tenure,
    exemptions: &[DateRange],
    compliant: impl Fn(usize, IsoWeek) -> bool,
    now: DateTime<Utc>,
) -> ComplianceSummary<W> {
    let (mut in_office, mut compliant_weeks, mut exempt, mut missed, mut pending) = (0, 0, 0, 0, 0);
    let statuses: W = weeks
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let status = w.status(tenure, exemptions, compliant(i, w.week), now);
            match status {
                WeekStatus::NotInOffice => {}
                WeekStatus::Compliant => compliant_weeks += 1,
                WeekStatus::Exempt => exempt += 1,
                WeekStatus::Pending => pending += 1,
                WeekStatus::Missed => missed += 1,
            }
            if status.in_office() {
                in_office += 1;
            }
            (w.week, status)
        })
        .collect();
    let required = compliant_weeks + missed;
    ComplianceSummary {
        weeks: statuses,
        in_office,
        compliant: compliant_weeks,
        exempt,
        missed,
        pending,
        required,
        rate: (required > 0).then(|| f64::from(compliant_weeks) / f64::from(required)),
    }
}

// ------------------------------------------------------------ WeekMask, WeekRun

/// A set of weeks of a [`WeekRun`] (up to 64 weeks: a quarter has 13 or
/// 14, a year 52 or 53), as bits: bit `i` is the run's `i`-th week. How
/// the weeks with a valid patrol travel for many chiefs at once (the
/// store's `chief_quarters.valid_weeks` is this mask for a quarter), without
/// a map per chief.
///
/// ```
/// use domain::compliance::WeekMask;
/// let mask = WeekMask::EMPTY.with(0).with(13);
/// assert!(mask.contains(13) && !mask.contains(1));
/// assert_eq!(mask.bits(), 0b10_0000_0000_0001);
/// assert_eq!(mask.without(0), WeekMask::from_bits(1 << 13));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct WeekMask(u64);

impl WeekMask {
    /// No week.
    pub const EMPTY: WeekMask = WeekMask(0);
    /// The most weeks a mask (and so a [`WeekRun`]) holds.
    pub const MAX_WEEKS: usize = 64;

    /// The mask with these bits.
    pub const fn from_bits(bits: u64) -> Self {
        WeekMask(bits)
    }

    /// The bits (bit `i` = the run's `i`-th week).
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// Whether the `i`-th week is in the set (false from 64 on).
    pub const fn contains(self, i: usize) -> bool {
        i < Self::MAX_WEEKS && self.0 & (1 << i) != 0
    }

    /// The set with the `i`-th week added. Panics from 64 on.
    pub const fn with(self, i: usize) -> Self {
        assert!(i < Self::MAX_WEEKS, "a WeekMask holds 64 weeks");
        WeekMask(self.0 | (1 << i))
    }

    /// The set with the `i`-th week removed. Panics from 64 on.
    pub const fn without(self, i: usize) -> Self {
        assert!(i < Self::MAX_WEEKS, "a WeekMask holds 64 weeks");
        WeekMask(self.0 & !(1 << i))
    }

    /// How many weeks are in the set.
    pub const fn len(self) -> u32 {
        self.0.count_ones()
    }

    /// Whether no week is in the set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// The weeks of a period (a quarter, a year, one week), in order, with the
/// dates the rule needs computed once, to summarize many chiefs over the
/// same weeks: [`WeekRun::summarize`] gives exactly what [`summarize`]
/// gives, from a [`WeekMask`] instead of a map.
///
/// ```
/// use chrono::{NaiveDate, TimeZone, Utc};
/// use domain::compliance::{ComplianceSummary, Tenure, WeekMask, WeekRun, WeekStatus};
/// use domain::time::Quarter;
///
/// let run = WeekRun::new("2026-Q4".parse::<Quarter>()?.weeks())?; // W40 .. W53
/// assert_eq!(run.len(), 14);
/// assert_eq!(run.index("2026-W53".parse()?), Some(13));
/// let tenure = Tenure::since(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
/// let after = Utc.with_ymd_and_hms(2027, 1, 10, 0, 0, 0).unwrap();
/// let s: ComplianceSummary = run.summarize(&tenure, &[], WeekMask::EMPTY.with(0).with(13), after);
/// assert_eq!((s.compliant, s.missed, s.required), (2, 12, 14));
/// assert_eq!(s.weeks[&"2026-W53".parse()?], WeekStatus::Compliant);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeekRun {
    weeks: Vec<WeekDates>,
}

impl WeekRun {
    /// The run of these weeks (any weeks, in the order given; normally
    /// consecutive). More than [`WeekMask::MAX_WEEKS`] is an error.
    pub fn new(weeks: impl IntoIterator<Item = IsoWeek>) -> Result<Self, ComplianceError> {
        let weeks: Vec<WeekDates> = weeks.into_iter().map(WeekDates::of).collect();
        if weeks.len() > WeekMask::MAX_WEEKS {
            return Err(ComplianceError::TooManyWeeks(weeks.len()));
        }
        Ok(WeekRun { weeks })
    }

    /// The weeks, in order.
    pub fn weeks(&self) -> impl ExactSizeIterator<Item = IsoWeek> + '_ {
        self.weeks.iter().map(|w| w.week)
    }

    /// How many weeks.
    pub fn len(&self) -> usize {
        self.weeks.len()
    }

    /// Whether the run has no week.
    pub fn is_empty(&self) -> bool {
        self.weeks.is_empty()
    }

    /// The position of `week` in the run (its bit in a [`WeekMask`]).
    pub fn index(&self, week: IsoWeek) -> Option<usize> {
        self.weeks.iter().position(|w| w.week == week)
    }

    /// The weeks of the run with at least one valid patrol in
    /// `valid_by_week` (valid patrols per week, as [`summarize`] takes).
    pub fn mask(&self, valid_by_week: &BTreeMap<IsoWeek, u32>) -> WeekMask {
        self.weeks
            .iter()
            .enumerate()
            .filter(|(_, w)| valid_by_week.get(&w.week).is_some_and(|n| *n > 0))
            .fold(WeekMask::EMPTY, |mask, (i, _)| mask.with(i))
    }

    /// The status of the `i`-th week ([`week_status`]), `valid` telling
    /// whether it has a valid patrol. `None` past the end of the run.
    pub fn status(
        &self,
        i: usize,
        tenure: &Tenure,
        exemptions: &[DateRange],
        valid: bool,
        now: DateTime<Utc>,
    ) -> Option<WeekStatus> {
        Some(self.weeks.get(i)?.status(tenure, exemptions, valid, now))
    }

    /// A chief's summary over the run ([`summarize`]), `valid` holding the
    /// weeks with at least one valid patrol, the statuses collected into a
    /// map or (cheaper, for many chiefs) [`WeekStatuses`].
    pub fn summarize<W: FromIterator<(IsoWeek, WeekStatus)>>(
        &self,
        tenure: &Tenure,
        exemptions: &[DateRange],
        valid: WeekMask,
        now: DateTime<Utc>,
    ) -> ComplianceSummary<W> {
        summarize_weeks(
            &self.weeks,
            tenure,
            exemptions,
            |i, _| valid.contains(i),
            now,
        )
    }
}

/// The statuses of a run of weeks in its order: what the map of
/// [`ComplianceSummary::weeks`] holds, in one allocation instead of a tree
/// of nodes (a province's quarter builds and drops 100,000 of them), and
/// serialized as the same JSON object (`{"2026-W40": "compliant", ...}`).
///
/// ```
/// use domain::compliance::{WeekStatus, WeekStatuses};
/// use domain::time::IsoWeek;
/// let (w40, w41): (IsoWeek, IsoWeek) = ("2026-W40".parse()?, "2026-W41".parse()?);
/// let s: WeekStatuses = [(w40, WeekStatus::Compliant), (w41, WeekStatus::Missed)]
///     .into_iter()
///     .collect();
/// assert_eq!(s[&w41], WeekStatus::Missed);
/// assert_eq!(s.get(&"2026-W42".parse()?), None);
/// assert_eq!(
///     serde_json::to_string(&s)?,
///     r#"{"2026-W40":"compliant","2026-W41":"missed"}"#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeekStatuses(Box<[(IsoWeek, WeekStatus)]>);

impl WeekStatuses {
    /// The status of `week`, if it is one of the run's.
    pub fn get(&self, week: &IsoWeek) -> Option<&WeekStatus> {
        self.0.iter().find(|(w, _)| w == week).map(|(_, s)| s)
    }

    /// The weeks and their statuses, in the run's order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&IsoWeek, &WeekStatus)> {
        self.0.iter().map(|(w, s)| (w, s))
    }

    /// How many weeks.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no week.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The same as a map by week.
    pub fn to_map(&self) -> BTreeMap<IsoWeek, WeekStatus> {
        self.0.iter().copied().collect()
    }
}

impl FromIterator<(IsoWeek, WeekStatus)> for WeekStatuses {
    fn from_iter<I: IntoIterator<Item = (IsoWeek, WeekStatus)>>(iter: I) -> Self {
        WeekStatuses(iter.into_iter().collect())
    }
}

impl std::ops::Index<&IsoWeek> for WeekStatuses {
    type Output = WeekStatus;
    /// Panics when `week` is not one of the run's, as a map would.
    fn index(&self, week: &IsoWeek) -> &WeekStatus {
        self.get(week).expect("a week of the run")
    }
}

impl Serialize for WeekStatuses {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

/// A chief's summary for the weeks of a quarter.
///
/// ```
/// use std::collections::BTreeMap;
/// use chrono::{NaiveDate, TimeZone, Utc};
/// use domain::compliance::{quarter_summary, DateRange, Tenure};
/// use domain::time::{IsoWeek, Quarter};
///
/// let q: Quarter = "2026-Q4".parse()?;                 // W40 .. W53
/// let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
/// let tenure = Tenure::since(d(11, 4));                 // Wednesday of W45
/// let leave = [DateRange::new(d(11, 23), d(11, 29))?];  // all of W48
/// let valid: BTreeMap<IsoWeek, u32> =
///     ["2026-W45", "2026-W46", "2026-W49", "2026-W50", "2026-W51", "2026-W53"]
///         .iter().map(|w| (w.parse().unwrap(), 1)).collect();
/// let after = Utc.with_ymd_and_hms(2027, 1, 10, 0, 0, 0).unwrap();
/// let s = quarter_summary(q, &tenure, &leave, &valid, after);
/// assert_eq!((s.in_office, s.compliant, s.exempt, s.missed), (9, 6, 1, 2)); // W47, W52 missed
/// assert_eq!(s.required, 8);
/// assert_eq!(s.rate, Some(0.75));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn quarter_summary(
    quarter: Quarter,
    tenure: &Tenure,
    exemptions: &[DateRange],
    valid_by_week: &BTreeMap<IsoWeek, u32>,
    now: DateTime<Utc>,
) -> QuarterSummary {
    summarize(quarter.weeks(), tenure, exemptions, valid_by_week, now)
}

/// A chief's summary for the weeks of an assessment year (its four
/// quarters): the yearly rate is compliant / required over all its weeks.
pub fn year_summary(
    year: Year,
    tenure: &Tenure,
    exemptions: &[DateRange],
    valid_by_week: &BTreeMap<IsoWeek, u32>,
    now: DateTime<Utc>,
) -> ComplianceSummary {
    summarize(year.weeks(), tenure, exemptions, valid_by_week, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone};

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    /// A day of November 2026; W48 is Monday 23 to Sunday 29.
    fn nov(day: u32) -> NaiveDate {
        d(11, day)
    }

    fn range(from: NaiveDate, to: NaiveDate) -> DateRange {
        DateRange::new(from, to).unwrap()
    }

    fn week(s: &str) -> IsoWeek {
        s.parse().unwrap()
    }

    fn utc(y: i32, m: u32, day: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, day, h, min, s).unwrap()
    }

    /// (what, tenure, exemptions, valid patrols, now, expected status)
    type Case = (
        &'static str,
        Tenure,
        Vec<DateRange>,
        u32,
        DateTime<Utc>,
        WeekStatus,
    );

    #[test]
    fn weekly_status_table() {
        use WeekStatus::*;
        let w48 = week("2026-W48");
        // The week ends Monday 2026-11-30 00:00 CST = 2026-11-29 16:00 UTC.
        let end = utc(2026, 11, 29, 16, 0, 0);
        assert_eq!(w48.end_utc(), end);
        let over = utc(2026, 12, 1, 0, 0, 0);
        let last_second = end - TimeDelta::seconds(1); // Sunday 23:59:59 CST
        let thursday = utc(2026, 11, 26, 4, 0, 0); // Thursday 12:00 CST
        let before = utc(2026, 11, 1, 0, 0, 0);
        let serving = Tenure::since(d(1, 1));
        let left = |day| Tenure::new(d(1, 1), Some(day)).unwrap();

        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("one valid patrol", serving, vec![], 1, over, Compliant),
            ("two valid patrols are one compliant week", serving, vec![], 2, over, Compliant),
            ("no patrol, week over", serving, vec![], 0, over, Missed),
            ("no patrol, Sunday 23:59:59 CST", serving, vec![], 0, last_second, Pending),
            ("no patrol, Monday 00:00 CST after", serving, vec![], 0, end, Missed),
            ("no patrol, mid-week", serving, vec![], 0, thursday, Pending),
            ("week not started yet", serving, vec![], 0, before, Pending),
            ("compliant before the week is over", serving, vec![], 1, thursday, Compliant),
            // Tenure.
            ("appointed Wednesday: in office", Tenure::since(nov(25)), vec![], 0, over, Missed),
            ("appointed Sunday: in office", Tenure::since(nov(29)), vec![], 0, over, Missed),
            ("appointed next Monday", Tenure::since(nov(30)), vec![], 0, over, NotInOffice),
            ("appointed next Monday, bogus count", Tenure::since(nov(30)), vec![], 3, over, NotInOffice),
            ("left Tuesday: in office", left(nov(24)), vec![], 0, over, Missed),
            ("left on Monday (last day): in office", left(nov(23)), vec![], 0, over, Missed),
            ("left the Sunday before", left(nov(22)), vec![], 0, over, NotInOffice),
            ("left Tuesday, patrolled", left(nov(24)), vec![], 1, over, Compliant),
            ("left Tuesday, now Thursday: week not over", left(nov(24)), vec![], 0, thursday, Pending),
            ("single day in office", Tenure::new(nov(26), Some(nov(26))).unwrap(), vec![], 0, over, Missed),
            // Exemptions.
            ("exempt Monday to Friday only", serving, vec![range(nov(23), nov(27))], 0, over, Missed),
            ("exempt Monday to Sunday", serving, vec![range(nov(23), nov(29))], 0, over, Exempt),
            ("exempt beyond the week", serving, vec![range(nov(20), d(12, 5))], 0, over, Exempt),
            ("exempt all week, now mid-week", serving, vec![range(nov(23), nov(29))], 0, thursday, Exempt),
            ("exempt but patrolled anyway", serving, vec![range(nov(23), nov(29))], 1, over, Compliant),
            ("exempt part of the week, mid-week", serving, vec![range(nov(23), nov(25))], 0, thursday, Pending),
            ("left Wednesday, exempt Mon-Wed", left(nov(25)), vec![range(nov(23), nov(25))], 0, over, Exempt),
            ("left Wednesday, exempt Mon-Tue", left(nov(25)), vec![range(nov(23), nov(24))], 0, over, Missed),
            ("appointed Thursday, exempt Thu-Sun", Tenure::since(nov(26)), vec![range(nov(26), nov(29))], 0, over, Exempt),
            ("appointed Thursday, exempt Fri-Sun", Tenure::since(nov(26)), vec![range(nov(27), nov(29))], 0, over, Missed),
            ("overlapping exemptions cover the week", serving, vec![range(nov(26), nov(29)), range(nov(23), nov(27))], 0, over, Exempt),
            ("adjacent exemptions cover the week", serving, vec![range(nov(23), nov(25)), range(nov(26), nov(29))], 0, over, Exempt),
            ("exemptions with a gap on Thursday", serving, vec![range(nov(23), nov(25)), range(nov(27), nov(29))], 0, over, Missed),
            ("single-day exemptions for each day", serving, (23..=29).map(|x| DateRange::day(nov(x))).collect(), 0, over, Exempt),
            ("exemption of another week", serving, vec![range(nov(16), nov(22))], 0, over, Missed),
        ];
        for (name, tenure, exemptions, valid, now, expected) in cases {
            assert_eq!(
                week_status(w48, &tenure, &exemptions, valid, now),
                expected,
                "{name}"
            );
            // Merging the exemptions never changes the status.
            let merged = merge_ranges(&exemptions);
            assert_eq!(
                week_status(w48, &tenure, &merged, valid, now),
                expected,
                "{name} (merged)"
            );
        }
    }

    #[test]
    fn tenure_days_are_inclusive() {
        let w48 = week("2026-W48");
        let t = Tenure::new(nov(25), Some(nov(27))).unwrap();
        assert_eq!(t.days_in_office(w48), [nov(25), nov(26), nov(27)]);
        assert!(t.in_office_during(w48));
        assert!(!t.in_office_during(week("2026-W47")));
        assert!(Tenure::new(nov(25), Some(nov(25))).is_ok());
        let err = Tenure::new(nov(25), Some(nov(24))).unwrap_err();
        assert_eq!(err.code(), "invalid_tenure");
        assert_eq!(
            err.to_string(),
            "left_on 2026-11-24 is before appointed_on 2026-11-25: left_on is the last day in office"
        );
        // in_office_during agrees with looking at each day.
        for appointed in 16..=30 {
            for left in [None, Some(22), Some(23), Some(26), Some(29), Some(30)] {
                let Ok(t) = Tenure::new(nov(appointed), left.map(nov)) else {
                    continue;
                };
                assert_eq!(t.in_office_during(w48), !t.days_in_office(w48).is_empty());
            }
        }
        let json = r#"{"appointed_on":"2026-11-25","left_on":null}"#;
        assert_eq!(
            serde_json::from_str::<Tenure>(json).unwrap(),
            Tenure::since(nov(25))
        );
        assert!(
            serde_json::from_str::<Tenure>(
                r#"{"appointed_on":"2026-11-25","left_on":"2026-11-01"}"#
            )
            .is_err()
        );
    }

    #[test]
    fn ranges_merge_when_overlapping_or_adjacent() {
        let r = |a, b| range(nov(a), nov(b));
        #[rustfmt::skip]
        let cases: Vec<(Vec<DateRange>, Vec<DateRange>)> = vec![
            (vec![], vec![]),
            (vec![r(1, 3)], vec![r(1, 3)]),
            (vec![r(1, 3), r(2, 5)], vec![r(1, 5)]),             // overlapping
            (vec![r(1, 3), r(4, 6)], vec![r(1, 6)]),             // adjacent
            (vec![r(1, 3), r(5, 6)], vec![r(1, 3), r(5, 6)]),    // one day apart
            (vec![r(5, 6), r(1, 3)], vec![r(1, 3), r(5, 6)]),    // unsorted
            (vec![r(1, 10), r(3, 4)], vec![r(1, 10)]),           // contained
            (vec![r(3, 4), r(3, 4)], vec![r(3, 4)]),             // duplicate
            (vec![r(8, 9), r(1, 2), r(3, 3), r(5, 7), r(4, 4)], vec![r(1, 9)]),
            (vec![r(1, 5), r(2, 3), r(4, 8), r(10, 12)], vec![r(1, 8), r(10, 12)]),
        ];
        for (input, expected) in cases {
            assert_eq!(merge_ranges(&input), expected, "{input:?}");
        }
        assert_eq!(
            DateRange::new(nov(5), nov(4)).unwrap_err().code(),
            "invalid_date_range"
        );
        assert_eq!(r(1, 3).day_count(), 3);
        let at_end = DateRange::day(NaiveDate::MAX);
        assert_eq!(merge_ranges(&[at_end, at_end]), [at_end]);
        let json = r#"{"from":"2026-07-13","to":"2026-07-19"}"#;
        let parsed: DateRange = serde_json::from_str(json).unwrap();
        assert_eq!(parsed, range(d(7, 13), d(7, 19)));
        assert_eq!(serde_json::to_string(&parsed).unwrap(), json);
        assert!(
            serde_json::from_str::<DateRange>(r#"{"from":"2026-07-19","to":"2026-07-13"}"#)
                .is_err()
        );
    }

    #[test]
    fn statuses_serialize_in_snake_case() {
        for status in WeekStatus::ALL {
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{status}\""));
            assert_eq!(status.as_str().parse::<WeekStatus>().unwrap(), status);
        }
        assert_eq!(
            serde_json::to_string(&WeekStatus::NotInOffice).unwrap(),
            r#""not_in_office""#
        );
        assert_eq!(
            "late".parse::<WeekStatus>().unwrap_err().code(),
            "invalid_week_status"
        );
    }

    /// 2026-Q4 is W40 (Mon 2026-09-28) .. W53 (Sun 2027-01-03). The chief is
    /// appointed on Wednesday 2026-11-04 (W45, Monday 2026-11-02), so W45..W53
    /// (9 weeks) are in office. Exemptions: W47+W48 in full (two overlapping
    /// ranges), and Mon–Wed of W50 (not the whole week).
    fn q4_case() -> (Quarter, Tenure, Vec<DateRange>, BTreeMap<IsoWeek, u32>) {
        let q: Quarter = "2026-Q4".parse().unwrap();
        let tenure = Tenure::since(nov(4));
        let leave = vec![
            range(nov(16), nov(25)),
            range(nov(20), nov(29)),
            range(d(12, 7), d(12, 9)),
        ];
        let valid = [
            ("2026-W41", 1), // before the appointment: not counted
            ("2026-W45", 1),
            ("2026-W46", 2),
            ("2026-W47", 1), // exempt, but a valid patrol makes it compliant
            ("2026-W49", 1),
            ("2026-W51", 1),
            ("2026-W53", 1),
        ]
        .iter()
        .map(|(w, n)| (week(w), *n))
        .collect();
        (q, tenure, leave, valid)
    }

    #[test]
    fn quarter_after_its_end() {
        use WeekStatus::*;
        let (q, tenure, leave, valid) = q4_case();
        let s = quarter_summary(q, &tenure, &leave, &valid, utc(2027, 1, 10, 0, 0, 0));
        let expected: BTreeMap<IsoWeek, WeekStatus> = [
            ("2026-W40", NotInOffice),
            ("2026-W41", NotInOffice),
            ("2026-W42", NotInOffice),
            ("2026-W43", NotInOffice),
            ("2026-W44", NotInOffice),
            ("2026-W45", Compliant),
            ("2026-W46", Compliant),
            ("2026-W47", Compliant),
            ("2026-W48", Exempt),
            ("2026-W49", Compliant),
            ("2026-W50", Missed), // only Mon–Wed exempt
            ("2026-W51", Compliant),
            ("2026-W52", Missed),
            ("2026-W53", Compliant),
        ]
        .iter()
        .map(|(w, s)| (week(w), *s))
        .collect();
        assert_eq!(s.weeks, expected);
        assert_eq!(
            (
                s.in_office,
                s.compliant,
                s.exempt,
                s.missed,
                s.pending,
                s.required
            ),
            (9, 6, 1, 2, 0, 8)
        );
        // DESIGN: required = weeks in office − exempt weeks = 9 − 1.
        assert_eq!(s.required, s.in_office - s.exempt);
        assert_eq!(s.rate, Some(0.75));
    }

    #[test]
    fn running_quarter_counts_only_weeks_owed_so_far() {
        use WeekStatus::*;
        let (q, tenure, leave, valid) = q4_case();
        // Wednesday 2026-12-09 12:00 CST, in W50; no patrol yet this week.
        let now = utc(2026, 12, 9, 4, 0, 0);
        let so_far: BTreeMap<IsoWeek, u32> = valid
            .into_iter()
            .filter(|(w, _)| *w <= week("2026-W49"))
            .collect();
        let s = quarter_summary(q, &tenure, &leave, &so_far, now);
        for w in ["2026-W50", "2026-W51", "2026-W52", "2026-W53"] {
            assert_eq!(s.weeks[&week(w)], Pending, "{w}");
        }
        assert_eq!(
            (
                s.in_office,
                s.compliant,
                s.exempt,
                s.missed,
                s.pending,
                s.required
            ),
            (9, 4, 1, 0, 4, 4)
        );
        assert_eq!(s.rate, Some(1.0));

        // Once the chief patrols this week, the week counts at once.
        let mut patrolled = so_far.clone();
        patrolled.insert(week("2026-W50"), 1);
        let s = quarter_summary(q, &tenure, &leave, &patrolled, now);
        assert_eq!((s.compliant, s.pending, s.required), (5, 3, 5));

        // Monday 00:00 CST of W51: W50 is over and missed.
        let s = quarter_summary(q, &tenure, &leave, &so_far, week("2026-W51").start_utc());
        assert_eq!(s.weeks[&week("2026-W50")], Missed);
        assert_eq!((s.compliant, s.missed, s.pending, s.required), (4, 1, 3, 5));
        assert_eq!(s.rate, Some(0.8));
    }

    #[test]
    fn nothing_required_means_no_rate() {
        let q: Quarter = "2026-Q4".parse().unwrap();
        let none = BTreeMap::new();
        // Appointed in the last week, which is still running.
        let s = quarter_summary(
            q,
            &Tenure::since(d(12, 30)),
            &[],
            &none,
            utc(2026, 12, 31, 4, 0, 0),
        );
        assert_eq!(
            (s.in_office, s.pending, s.required, s.rate),
            (1, 1, 0, None)
        );
        // Exempt the whole quarter.
        let all = [range(q.first_day(), q.last_day())];
        let s = quarter_summary(
            q,
            &Tenure::since(d(1, 1)),
            &all,
            &none,
            utc(2027, 2, 1, 0, 0, 0),
        );
        assert_eq!(
            (s.in_office, s.exempt, s.required, s.rate),
            (14, 14, 0, None)
        );
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["rate"], serde_json::Value::Null);
        // Left on Sunday 2026-09-27, the day before the quarter's first week.
        let left = Tenure::new(d(1, 1), Some(d(9, 27))).unwrap();
        let s = quarter_summary(q, &left, &[], &none, utc(2027, 2, 1, 0, 0, 0));
        assert_eq!((s.in_office, s.required, s.rate), (0, 0, None));
        assert!(s.weeks.values().all(|w| *w == WeekStatus::NotInOffice));
    }

    #[test]
    fn summary_json_uses_the_contract_field_names() {
        let (q, tenure, leave, valid) = q4_case();
        let s = quarter_summary(q, &tenure, &leave, &valid, utc(2027, 1, 10, 0, 0, 0));
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["weeks"]["2026-W40"], "not_in_office");
        assert_eq!(json["weeks"]["2026-W48"], "exempt");
        assert_eq!(json["compliant"], 6);
        assert_eq!(json["exempt"], 1);
        assert_eq!(json["missed"], 2);
        assert_eq!(json["required"], 8);
        assert_eq!(json["rate"], 0.75);
        let back: ComplianceSummary = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn year_summary_spans_its_quarters() {
        let (_, tenure, leave, valid) = q4_case();
        let y = Year::new(2026).unwrap();
        let s = year_summary(y, &tenure, &leave, &valid, utc(2027, 1, 10, 0, 0, 0));
        assert_eq!(s.weeks.len(), 53);
        assert_eq!(
            (s.in_office, s.compliant, s.exempt, s.missed, s.required),
            (9, 6, 1, 2, 8)
        );
    }

    #[test]
    fn days_left_count_today() {
        let cases = [
            (utc(2026, 11, 22, 16, 20, 0), 7),  // Monday 00:20 CST
            (utc(2026, 11, 22, 15, 59, 59), 1), // Sunday 23:59:59 CST
            (utc(2026, 11, 25, 3, 0, 0), 5),    // Wednesday 11:00 CST
            (utc(2026, 11, 28, 23, 0, 0), 1),   // Sunday 07:00 CST
        ];
        for (now, expected) in cases {
            assert_eq!(days_left_in_week(now), expected, "{now}");
        }
    }

    #[test]
    fn a_week_run_holds_up_to_64_weeks() {
        let year: crate::time::Year = "2026".parse().unwrap();
        let run = WeekRun::new(year.weeks()).unwrap();
        assert_eq!(run.len(), 53);
        assert_eq!(run.index(week("2026-W53")), Some(52));
        assert_eq!(run.index(week("2027-W01")), None);
        let too_many = (0..65).scan(week("2026-W01"), |w, _| {
            let this = *w;
            *w = w.next().unwrap();
            Some(this)
        });
        assert_eq!(
            WeekRun::new(too_many).unwrap_err(),
            ComplianceError::TooManyWeeks(65)
        );
        assert_eq!(WeekMask::from_bits(u64::MAX).len(), 64);
        assert!(!WeekMask::from_bits(u64::MAX).contains(64));
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        /// Ranges within 2026-11-01 .. 2027-01-31.
        fn ranges() -> impl Strategy<Value = Vec<DateRange>> {
            proptest::collection::vec((0i64..90, 0i64..20), 0..8).prop_map(|v| {
                v.into_iter()
                    .map(|(start, len)| {
                        let from = nov(1) + TimeDelta::days(start);
                        range(from, from + TimeDelta::days(len))
                    })
                    .collect()
            })
        }

        /// One chief's 2026-Q4: tenure, exemptions, valid patrols per week
        /// and the moment the quarter is looked at.
        #[derive(Debug)]
        struct Case {
            q: Quarter,
            tenure: Tenure,
            leave: Vec<DateRange>,
            valid: BTreeMap<IsoWeek, u32>,
            now: DateTime<Utc>,
        }

        fn cases() -> impl Strategy<Value = Case> {
            (
                ranges(),
                0i64..120,
                proptest::option::of(0i64..120),
                proptest::collection::btree_map(40u32..=53, 0u32..3, 0..14),
                0i64..150,
            )
                .prop_map(|(leave, appointed, served, patrolled, now_days)| {
                    let q: Quarter = "2026-Q4".parse().unwrap();
                    let appointed_on = d(9, 1) + TimeDelta::days(appointed);
                    let left_on = served.map(|n| appointed_on + TimeDelta::days(n));
                    Case {
                        q,
                        tenure: Tenure::new(appointed_on, left_on).unwrap(),
                        leave,
                        valid: patrolled
                            .into_iter()
                            .map(|(w, n)| (IsoWeek::new(2026, w).unwrap(), n))
                            .collect(),
                        now: q.start_utc() + TimeDelta::days(now_days),
                    }
                })
        }

        proptest! {
            #[test]
            fn merging_keeps_the_same_days(input in ranges()) {
                let merged = merge_ranges(&input);
                let mut day = nov(1);
                while day < d(12, 31) + TimeDelta::days(60) {
                    prop_assert_eq!(
                        input.iter().any(|r| r.contains(day)),
                        merged.iter().any(|r| r.contains(day)),
                        "{}", day
                    );
                    day = day.succ_opt().unwrap();
                }
                // Sorted, with at least one uncovered day between ranges.
                for pair in merged.windows(2) {
                    prop_assert!(pair[0].to().succ_opt().unwrap() < pair[1].from());
                }
            }

            #[test]
            fn summary_counts_add_up(case in cases()) {
                let Case { q, tenure, leave, valid, now } = case;
                let s = quarter_summary(q, &tenure, &leave, &valid, now);
                prop_assert_eq!(s.weeks.len(), 14);
                prop_assert_eq!(s.in_office, s.compliant + s.exempt + s.missed + s.pending);
                prop_assert_eq!(s.required, s.in_office - s.exempt - s.pending);
                prop_assert_eq!(s.required, s.compliant + s.missed);
                match s.rate {
                    None => prop_assert_eq!(s.required, 0),
                    Some(rate) => prop_assert!((0.0..=1.0).contains(&rate)),
                }
                if now >= q.end_utc() {
                    prop_assert_eq!(s.pending, 0);
                    prop_assert_eq!(s.required, s.in_office - s.exempt); // DESIGN's formula
                }
                // Merged or reversed exemptions give the same statuses.
                let mut reversed = leave.clone();
                reversed.reverse();
                prop_assert_eq!(&quarter_summary(q, &tenure, &merge_ranges(&leave), &valid, now), &s);
                prop_assert_eq!(&quarter_summary(q, &tenure, &reversed, &valid, now), &s);
            }

            /// The mask path gives what the map path gives, and every week's
            /// status is the one the rule as first written gives (kept here
            /// as the reference: in office on some day, then a valid
            /// patrol, then exemptions covering the days in office, then
            /// the week not over).
            #[test]
            fn the_mask_path_agrees_with_the_reference(case in cases()) {
                let Case { q, tenure, leave, valid, now } = case;
                let run = WeekRun::new(q.weeks()).unwrap();
                let mask = run.mask(&valid);
                let s: ComplianceSummary = run.summarize(&tenure, &leave, mask, now);
                prop_assert_eq!(&s, &quarter_summary(q, &tenure, &leave, &valid, now));
                let compact: ComplianceSummary<WeekStatuses> = run.summarize(&tenure, &leave, mask, now);
                prop_assert_eq!(compact.weeks.to_map(), s.weeks.clone());
                prop_assert_eq!(
                    serde_json::to_value(&compact).unwrap(),
                    serde_json::to_value(&s).unwrap()
                );
                for (i, week) in q.weeks().into_iter().enumerate() {
                    let count = valid.get(&week).copied().unwrap_or(0);
                    prop_assert_eq!(mask.contains(i), count > 0);
                    let reference = if !(tenure.appointed_on() <= week.sunday()
                        && tenure.left_on().is_none_or(|last| week.monday() <= last))
                    {
                        WeekStatus::NotInOffice
                    } else if count > 0 {
                        WeekStatus::Compliant
                    } else if tenure.days_in_office(week).iter().all(|day| leave.iter().any(|r| r.contains(*day))) {
                        WeekStatus::Exempt
                    } else if now < week.end_utc() {
                        WeekStatus::Pending
                    } else {
                        WeekStatus::Missed
                    };
                    prop_assert_eq!(s.weeks[&week], reference, "{}", week);
                    prop_assert_eq!(week_status(week, &tenure, &leave, count, now), reference);
                    prop_assert_eq!(run.status(i, &tenure, &leave, count > 0, now), Some(reference));
                }
            }
        }
    }
}
