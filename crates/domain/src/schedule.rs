//! The office's week as town rules: `remind_at` (催办, default `"FRI 17:00"`)
//! reminds the chiefs who have not patrolled yet, `bulletin_at` (周通报,
//! default `"MON 09:00"`) sends last week's results. Times are CST; `null`
//! turns one off. [`due`] says, for a moment, what should have run by
//! then in the week in progress: a server that was down at the time
//! catches up later the same week, and never runs a week that is over.

use chrono::{DateTime, NaiveTime, TimeDelta, Utc, Weekday};
use serde_json::Value;

use crate::time::{IsoWeek, cst_day_start_utc};

/// The keys of a town's rules that hold the schedule.
pub const SCHEDULE_KEYS: [&str; 2] = ["remind_at", "bulletin_at"];

/// A weekday and a CST time of day, written `"FRI 17:00"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeeklyTime {
    pub weekday: Weekday,
    pub time: NaiveTime,
}

impl WeeklyTime {
    /// Parses `"FRI 17:00"` (weekday as its three English letters, any case).
    ///
    /// ```
    /// use domain::schedule::WeeklyTime;
    /// let t = WeeklyTime::parse("fri 17:00").unwrap();
    /// assert_eq!(t.to_string(), "FRI 17:00");
    /// assert!(WeeklyTime::parse("FRI 25:00").is_err());
    /// assert!(WeeklyTime::parse("Friday").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, ScheduleError> {
        let invalid = || ScheduleError(s.chars().take(40).collect());
        let (day, time) = s.trim().split_once(' ').ok_or_else(invalid)?;
        let weekday = WEEKDAYS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(day))
            .map(|(_, d)| *d)
            .ok_or_else(invalid)?;
        let time = NaiveTime::parse_from_str(time.trim(), "%H:%M").map_err(|_| invalid())?;
        Ok(Self { weekday, time })
    }

    /// The instant of this time in `week`.
    pub fn in_week(self, week: IsoWeek) -> DateTime<Utc> {
        let day = week.monday() + TimeDelta::days(self.weekday.num_days_from_monday().into());
        cst_day_start_utc(day) + (self.time - NaiveTime::MIN)
    }
}

impl std::fmt::Display for WeeklyTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let day = WEEKDAYS
            .iter()
            .find(|(_, d)| *d == self.weekday)
            .map_or("MON", |(name, _)| name);
        write!(f, "{day} {}", self.time.format("%H:%M"))
    }
}

const WEEKDAYS: [(&str, Weekday); 7] = [
    ("MON", Weekday::Mon),
    ("TUE", Weekday::Tue),
    ("WED", Weekday::Wed),
    ("THU", Weekday::Thu),
    ("FRI", Weekday::Fri),
    ("SAT", Weekday::Sat),
    ("SUN", Weekday::Sun),
];

/// A schedule rule that is not `"DDD HH:MM"` or null.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a weekday and CST time such as \"FRI 17:00\" (or null for off), got {0:?}")]
pub struct ScheduleError(pub String);

impl ScheduleError {
    pub fn code(&self) -> &'static str {
        "invalid_schedule"
    }
}

/// A town's schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub remind_at: Option<WeeklyTime>,
    pub bulletin_at: Option<WeeklyTime>,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            remind_at: Some(WeeklyTime {
                weekday: Weekday::Fri,
                time: NaiveTime::from_hms_opt(17, 0, 0).expect("17:00"),
            }),
            bulletin_at: Some(WeeklyTime {
                weekday: Weekday::Mon,
                time: NaiveTime::from_hms_opt(9, 0, 0).expect("09:00"),
            }),
        }
    }
}

impl Schedule {
    /// The schedule in a town's rules object: a missing key keeps the
    /// default, `null` turns it off.
    ///
    /// ```
    /// use domain::schedule::Schedule;
    /// let s = Schedule::from_rules(&serde_json::json!({"remind_at": null, "min_coverage": 0.6})).unwrap();
    /// assert_eq!(s.remind_at, None);
    /// assert_eq!(s.bulletin_at.unwrap().to_string(), "MON 09:00");
    /// assert!(Schedule::from_rules(&serde_json::json!({"bulletin_at": 9})).is_err());
    /// ```
    pub fn from_rules(rules: &Value) -> Result<Self, ScheduleError> {
        let default = Self::default();
        let read = |key: &str, default: Option<WeeklyTime>| match rules.get(key) {
            None => Ok(default),
            Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => WeeklyTime::parse(s).map(Some),
            Some(other) => Err(ScheduleError(other.to_string())),
        };
        Ok(Self {
            remind_at: read("remind_at", default.remind_at)?,
            bulletin_at: read("bulletin_at", default.bulletin_at)?,
        })
    }
}

/// A scheduled job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Remind the chiefs still pending in `week` (the week in progress).
    Reminder,
    /// The bulletin of `week` (the week before the one in progress).
    Bulletin,
}

impl Job {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reminder => "reminder",
            Self::Bulletin => "bulletin",
        }
    }
}

/// What should have run by `now` in the week in progress, with the week
/// each is about. Whether it did run is the caller's record (one run per
/// town, job and week).
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use domain::schedule::{due, Job, Schedule};
/// // Friday 2026-12-11 17:30 CST.
/// let now = Utc.with_ymd_and_hms(2026, 12, 11, 9, 30, 0).unwrap();
/// let jobs = due(&Schedule::default(), now);
/// assert_eq!(jobs.len(), 2);
/// assert_eq!((jobs[0].0, jobs[0].1.to_string()), (Job::Reminder, "2026-W50".to_string()));
/// assert_eq!((jobs[1].0, jobs[1].1.to_string()), (Job::Bulletin, "2026-W49".to_string()));
/// ```
pub fn due(schedule: &Schedule, now: DateTime<Utc>) -> Vec<(Job, IsoWeek)> {
    let Ok(week) = IsoWeek::current(now) else {
        return Vec::new();
    };
    let mut jobs = Vec::new();
    if schedule.remind_at.is_some_and(|at| now >= at.in_week(week)) {
        jobs.push((Job::Reminder, week));
    }
    if let (Some(at), Some(last_week)) = (schedule.bulletin_at, week.prev())
        && now >= at.in_week(week)
    {
        jobs.push((Job::Bulletin, last_week));
    }
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// An instant given as CST wall time.
    fn cst(m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, m, d, h, min, 0).unwrap() - TimeDelta::hours(8)
    }

    fn names(jobs: Vec<(Job, IsoWeek)>) -> Vec<String> {
        jobs.into_iter()
            .map(|(j, w)| format!("{} {w}", j.as_str()))
            .collect()
    }

    #[test]
    fn the_default_week_of_an_office() {
        let s = Schedule::default();
        // 2026-W50: Monday 7 December to Sunday 13 December.
        let table = [
            (cst(12, 7, 8, 59), vec![]),
            (cst(12, 7, 9, 0), vec!["bulletin 2026-W49"]),
            (cst(12, 11, 16, 59), vec!["bulletin 2026-W49"]),
            (
                cst(12, 11, 17, 0),
                vec!["reminder 2026-W50", "bulletin 2026-W49"],
            ),
            // Caught up after downtime: Sunday night still reminds W50.
            (
                cst(12, 13, 23, 59),
                vec!["reminder 2026-W50", "bulletin 2026-W49"],
            ),
            // The week is over: W50's reminder is never due again.
            (cst(12, 14, 0, 0), vec![]),
        ];
        for (now, expected) in table {
            assert_eq!(names(due(&s, now)), expected, "at {now}");
        }
    }

    #[test]
    fn null_turns_a_job_off() {
        let s = Schedule::from_rules(
            &serde_json::json!({"remind_at": null, "bulletin_at": "tue 08:30"}),
        )
        .unwrap();
        assert_eq!(names(due(&s, cst(12, 8, 8, 29))), Vec::<String>::new());
        assert_eq!(names(due(&s, cst(12, 8, 8, 30))), vec!["bulletin 2026-W49"]);
    }

    #[test]
    fn the_patrol_rules_read_past_the_schedule() {
        // Both live in the town's one rules object.
        let rules = crate::validity::RuleSet::from_json(
            r#"{"remind_at": null, "bulletin_at": "MON 09:00", "min_coverage": 0.6}"#,
        )
        .unwrap();
        assert_eq!(rules.min_coverage.get(), 0.6);
    }

    #[test]
    fn bad_rules_are_refused() {
        for bad in ["FRI", "FRI 17", "XYZ 17:00", "FRI 17:60", ""] {
            assert!(WeeklyTime::parse(bad).is_err(), "{bad}");
        }
    }
}
