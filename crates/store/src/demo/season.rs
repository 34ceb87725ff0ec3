//! A season of patrols for the demo town, so the map, the compliance views
//! and the assessment have something true to show. The weeks of the current
//! quarter up to now (CST): most chiefs walk their reach once or twice a
//! week, a few miss weeks, two are on approved leave, the town chief walks a
//! reach most weeks, and some patrols break a rule — cycled through too
//! briefly, too short, a partial walk, driven, the wrong reach, and one
//! replay of an earlier track.
//!
//! [`plan`] is pure and seeded by chief and week, so the same `now` gives
//! the same files, and a later `now` only adds weeks. [`load`] sends every
//! file through [`crate::patrols::ingest`], the upload pipeline of
//! `POST /api/v1/patrols`: the demo's verdicts are the real rules' verdicts.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use domain::compliance::DateRange;
use domain::read::TrackFormat;
use domain::synth::{self, Gait, Rng};
use domain::time::{IsoWeek, Quarter};
use sqlx::PgPool;

use super::{TOWN_CODE, reach_line};

/// Number of village reaches (and village chiefs).
const REACHES: usize = 16;

/// The share of weeks each village chief (HZ001 … HZ016) patrols at all.
const DILIGENCE: [f64; REACHES] = [
    0.97, 0.95, 0.97, 0.7, 0.95, 0.97, 0.97, 0.85, 0.95, 0.5, 0.95, 0.97, 0.8, 0.97, 0.7, 0.97,
];

/// What a planned patrol is, and so which rule (if any) it should break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Along the own reach on foot: valid.
    Walk,
    /// Through the reach on an e-bike in under ten minutes: `too_brief`.
    Cycled,
    /// A few hundred metres and a long chat: `too_short` (and `low_coverage`).
    Short,
    /// A third of the reach and home: `low_coverage`.
    Partial,
    /// Along the river road by car, there and back: `too_fast`.
    Driven,
    /// The neighbouring village's reach instead of the own: `outside_assigned_reaches`.
    WrongReach,
    /// An earlier track uploaded again with shifted times: `duplicate_track`.
    Replay,
}

/// One patrol file of the season.
#[derive(Debug, Clone)]
pub struct PlannedPatrol {
    /// Chief code, e.g. `HZ001` (`HZ000` is the town chief).
    pub chief: String,
    /// Idempotency key: loading the season again finds the patrol.
    pub key: String,
    pub kind: Kind,
    /// The reach walked (1-based).
    pub reach: usize,
    pub format: TrackFormat,
    pub file: String,
    pub notes: Option<&'static str>,
    pub points: Vec<(f64, f64, DateTime<Utc>)>,
}

impl PlannedPatrol {
    pub fn started_at(&self) -> DateTime<Utc> {
        self.points[0].2
    }

    pub fn ended_at(&self) -> DateTime<Utc> {
        self.points[self.points.len() - 1].2
    }

    /// When its chief uploads it: twenty minutes after the walk (`now` at
    /// the latest). A season loaded weeks later is so judged, and stored,
    /// as uploaded in time, as the chiefs would have; not `late_upload`.
    pub fn uploaded_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        (self.ended_at() + Duration::minutes(20)).min(now)
    }
}

/// An exemption the office approved.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedExemption {
    pub chief: &'static str,
    pub range: DateRange,
    pub reason: &'static str,
}

/// The season for `now`.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The weeks, oldest first; the last one is the week of `now`.
    pub weeks: Vec<IsoWeek>,
    /// Patrols in the order they were recorded.
    pub patrols: Vec<PlannedPatrol>,
    pub exemptions: Vec<PlannedExemption>,
}

/// The weeks of the season: the current quarter up to `now`; when fewer
/// than four of its weeks are over, the previous quarter too, so the map is
/// never empty early in a quarter.
pub fn weeks(now: DateTime<Utc>) -> Vec<IsoWeek> {
    let Ok(current) = IsoWeek::current(now) else {
        return vec![];
    };
    let quarter = Quarter::of_week(current);
    let mut first = quarter.first_week();
    let mut out = week_range(first, current);
    if out.len() < 5
        && let Some(previous) = quarter.prev()
    {
        first = previous.first_week();
        out = week_range(first, current);
    }
    out
}

fn week_range(first: IsoWeek, last: IsoWeek) -> Vec<IsoWeek> {
    let mut out = vec![first];
    while let Some(&w) = out.last()
        && w < last
    {
        match w.next() {
            Some(n) => out.push(n),
            None => break,
        }
    }
    out
}

/// Plans the season up to `now`. Pure: the same `now` gives the same plan,
/// and the plan of a week does not depend on `now` beyond leaving out what
/// has not happened yet.
pub fn plan(now: DateTime<Utc>) -> Plan {
    let weeks = weeks(now);
    let exemptions = exemptions(&weeks);
    let mut patrols: Vec<PlannedPatrol> = vec![];
    for (k, &week) in weeks.iter().enumerate() {
        for n in 1..=REACHES {
            let chief = format!("HZ{n:03}");
            if exemptions
                .iter()
                .any(|e| e.chief == chief && week.days().iter().all(|d| e.range.contains(*d)))
            {
                continue;
            }
            let mut rng = Rng::seeded(&[n as u64, week_seed(week)]);
            let kinds = match incident(n, k) {
                Some(kinds) => kinds.to_vec(),
                None => routine(&mut rng, DILIGENCE[n - 1]),
            };
            let days = pick_days(&mut rng, kinds.len());
            for (i, (kind, day)) in kinds.into_iter().zip(days).enumerate() {
                let key = format!("demo:{chief}:{week}:{i}");
                if kind == Kind::Replay {
                    // HZ011's first patrol of the season, three weeks later.
                    let Some(original) = patrols.iter().find(|p| p.chief == chief) else {
                        continue;
                    };
                    let shift = Duration::days(7 * k as i64);
                    let points: Vec<_> = original
                        .points
                        .iter()
                        .map(|&(lon, lat, t)| (lon, lat, t + shift))
                        .collect();
                    let replay = PlannedPatrol {
                        chief: chief.clone(),
                        key,
                        kind,
                        reach: original.reach,
                        format: original.format,
                        file: String::new(),
                        notes: Some("本周巡河轨迹"),
                        points,
                    };
                    patrols.push(replay);
                    continue;
                }
                let start = start_time(&mut rng, week.days()[day]);
                patrols.push(village_patrol(&mut rng, chief.clone(), key, n, kind, start));
            }
        }
        // The town chief walks one reach most weeks; in the second week he
        // is driven along one.
        let mut rng = Rng::seeded(&[0, week_seed(week)]);
        let kind = if k == 1 { Kind::Driven } else { Kind::Walk };
        if kind == Kind::Driven || rng.chance(0.85) {
            let reach = 1 + rng.below(REACHES as u64) as usize;
            let day = pick_days(&mut rng, 1)[0];
            let start = start_time(&mut rng, week.days()[day]);
            let key = format!("demo:HZ000:{week}:0");
            let mut p = village_patrol(&mut rng, "HZ000".into(), key, reach, kind, start);
            p.notes = Some("镇级巡河");
            patrols.push(p);
        }
    }
    patrols.retain(|p| p.points.len() >= 2 && p.ended_at() <= now);
    patrols.sort_by_key(PlannedPatrol::started_at);
    for p in &mut patrols {
        p.file = match p.format {
            TrackFormat::GeoJson => synth::geojson(&p.points),
            _ => synth::gpx(&p.points),
        };
    }
    Plan {
        weeks,
        patrols,
        exemptions,
    }
}

fn week_seed(week: IsoWeek) -> u64 {
    (week.year() as u64) * 100 + u64::from(week.week())
}

/// The scripted breaches, by chief and week of the season (0-based), so
/// every kind appears in every season of five weeks or more.
fn incident(n: usize, k: usize) -> Option<&'static [Kind]> {
    Some(match (n, k) {
        (3, 0) => &[Kind::Driven],
        (11, 0) => &[Kind::Walk],
        (9, 1) => &[Kind::Cycled],
        (6, 2) => &[Kind::Partial],
        (13, 2) => &[Kind::Short],
        (10, 2) => &[], // a missed week, whatever the dice say
        (11, 3) => &[Kind::Replay],
        (2, 4) => &[Kind::WrongReach],
        _ => return None,
    })
}

/// An ordinary week of a chief who patrols with probability `diligence`:
/// nothing, one patrol or two, now and then one that breaks a rule.
fn routine(rng: &mut Rng, diligence: f64) -> Vec<Kind> {
    if !rng.chance(diligence) {
        return vec![];
    }
    let count = if rng.chance(if diligence >= 0.9 { 0.35 } else { 0.1 }) {
        2
    } else {
        1
    };
    (0..count)
        .map(|_| {
            if rng.chance(0.05) {
                [Kind::Partial, Kind::Cycled, Kind::Short, Kind::Driven][rng.below(4) as usize]
            } else {
                Kind::Walk
            }
        })
        .collect()
}

/// `count` distinct days of the week (0 = Monday), weekdays more likely.
fn pick_days(rng: &mut Rng, count: usize) -> Vec<usize> {
    const WEIGHTS: [u64; 7] = [3, 3, 3, 3, 3, 2, 1];
    let mut days: Vec<usize> = vec![];
    while days.len() < count.min(7) {
        let mut x = rng.below(WEIGHTS.iter().sum());
        let day = WEIGHTS
            .iter()
            .position(|&w| {
                let hit = x < w;
                x = x.saturating_sub(w);
                hit
            })
            .unwrap_or(0);
        if !days.contains(&day) {
            days.push(day);
        }
    }
    days.sort_unstable();
    days
}

/// A start in the morning (07:00–10:30 CST) or afternoon (14:30–17:30).
fn start_time(rng: &mut Rng, day: NaiveDate) -> DateTime<Utc> {
    let minutes = if rng.chance(0.6) {
        rng.range(7.0 * 60.0, 10.5 * 60.0)
    } else {
        rng.range(14.5 * 60.0, 17.5 * 60.0)
    };
    domain::time::cst_day_start_utc(day) + Duration::seconds((minutes * 60.0) as i64)
}

const NOTES: [&str; 6] = [
    "河面清洁，无异常",
    "发现少量漂浮垃圾，已清理",
    "水位正常，水质清澈",
    "护栏一处松动，已上报",
    "岸边有村民洗衣，已劝导",
    "排污口无排放",
];

fn village_patrol(
    rng: &mut Rng,
    chief: String,
    key: String,
    n: usize,
    kind: Kind,
    start: DateTime<Utc>,
) -> PlannedPatrol {
    let reach = if kind == Kind::WrongReach {
        (n + 1) % REACHES + 1 // two reaches on: no metre of the own one
    } else {
        n
    };
    let line = reach_line(reach);
    let forward = rng.chance(0.5);
    let oriented = |from: f64, to: f64| {
        if forward {
            synth::part(&line, from, to)
        } else {
            synth::part(&line, 1.0 - from, 1.0 - to)
        }
    };
    let walk = Gait {
        speed_kmh: rng.range(3.4, 4.8),
        step_s: [2, 3, 5, 5][rng.below(4) as usize],
        noise_m: rng.range(2.0, 4.5),
        stops: rng.below(4) as u32,
        offset_m: rng.range(5.0, 18.0),
        ..Gait::WALK
    };
    let (path, gait) = match kind {
        Kind::Walk | Kind::WrongReach | Kind::Replay => {
            (oriented(rng.range(0.0, 0.06), rng.range(0.9, 1.0)), walk)
        }
        Kind::Partial => {
            let from = rng.range(0.0, 0.3);
            let gait = Gait {
                stops: 1,
                stop_s: (150.0, 300.0),
                ..walk
            };
            (oriented(from, from + rng.range(0.22, 0.32)), gait)
        }
        Kind::Short => {
            let from = rng.range(0.2, 0.7);
            let gait = Gait {
                speed_kmh: 3.0,
                noise_m: 1.5,
                stops: 2,
                stop_s: (300.0, 420.0),
                ..walk
            };
            (oriented(from, from + 0.07), gait)
        }
        Kind::Cycled => {
            let gait = Gait {
                speed_kmh: rng.range(15.0, 17.0),
                pace_spread: 0.08,
                step_s: 2,
                stops: 0,
                ..walk
            };
            (oriented(0.05, 0.9), gait)
        }
        Kind::Driven => {
            let mut there_and_back = oriented(0.0, 1.0);
            let back: Vec<[f64; 2]> = there_and_back.iter().rev().skip(1).copied().collect();
            there_and_back.extend(back);
            let gait = Gait {
                stops: 2,
                ..Gait::DRIVE
            };
            (there_and_back, gait)
        }
    };
    let points = synth::record(&path, start, &gait, rng);
    let notes = if rng.chance(0.3) {
        Some(NOTES[rng.below(NOTES.len() as u64) as usize])
    } else {
        None
    };
    // The phone page uploads GeoJSON; some chiefs use a GPS app's GPX.
    let format = if rng.chance(0.6) {
        TrackFormat::GeoJson
    } else {
        TrackFormat::Gpx
    };
    PlannedPatrol {
        chief,
        key,
        kind,
        reach,
        format,
        file: String::new(),
        notes,
        points,
    }
}

/// Two approved leaves: HZ005 in hospital for weeks 3–4 of the season,
/// HZ012 at the county's river-chief training in week 6.
fn exemptions(weeks: &[IsoWeek]) -> Vec<PlannedExemption> {
    let mut out = vec![];
    if let (Some(a), Some(b)) = (weeks.get(2), weeks.get(3)) {
        out.push(PlannedExemption {
            chief: "HZ005",
            range: DateRange::new(a.monday(), b.sunday()).expect("ordered weeks"),
            reason: "病假（住院治疗）",
        });
    }
    if let Some(w) = weeks.get(5) {
        out.push(PlannedExemption {
            chief: "HZ012",
            range: DateRange::new(w.monday(), w.sunday()).expect("a week"),
            reason: "参加县河长制业务培训",
        });
    }
    out
}

/// What loading the season did, and the town's patrols after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeasonSummary {
    pub first_week: Option<String>,
    pub last_week: Option<String>,
    /// Patrols stored by this load (0 when it ran before with this `now`).
    pub created: usize,
    /// Exemptions stored by this load.
    pub exemptions_created: usize,
    /// The town's patrols now, and how many are valid.
    pub patrols: i64,
    pub valid: i64,
    /// Invalid patrols per reason code (a patrol may have several).
    pub reasons: BTreeMap<String, i64>,
}

impl fmt::Display for SeasonSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let weeks = match (&self.first_week, &self.last_week) {
            (Some(a), Some(b)) => format!("{a} … {b}"),
            _ => "no weeks".into(),
        };
        write!(
            f,
            "patrols {weeks}: {} ({} new), {} valid, {} invalid",
            self.patrols,
            self.created,
            self.valid,
            self.patrols - self.valid
        )?;
        if !self.reasons.is_empty() {
            let reasons: Vec<String> = self
                .reasons
                .iter()
                .map(|(code, n)| format!("{code} {n}"))
                .collect();
            write!(f, " ({})", reasons.join(", "))?;
        }
        if self.exemptions_created > 0 {
            write!(f, "; {} exemptions approved", self.exemptions_created)?;
        }
        Ok(())
    }
}

/// Loads the season for `now` into the demo town (which must be loaded):
/// exemptions approved by `admin`, then every patrol through the upload
/// pipeline, uploaded by its chief. Idempotent: what exists is found by its
/// idempotency key and kept.
pub async fn load(pool: &PgPool, now: DateTime<Utc>) -> crate::Result<SeasonSummary> {
    let plan = plan(now);
    let town_id: i64 = sqlx::query_scalar("SELECT id FROM towns WHERE code = $1")
        .bind(TOWN_CODE)
        .fetch_optional(pool)
        .await?
        .ok_or(crate::StoreError::NotFound("demo town"))?;
    let chiefs: Vec<(String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT c.code, c.id, (SELECT min(u.id) FROM users u WHERE u.chief_id = c.id)
         FROM chiefs c WHERE c.town_id = $1",
    )
    .bind(town_id)
    .fetch_all(pool)
    .await?;
    let chief = |code: &str| {
        chiefs
            .iter()
            .find(|c| c.0 == code)
            .map(|c| (c.1, c.2))
            .ok_or(crate::StoreError::NotFound("demo chief"))
    };
    let admin: i64 = sqlx::query_scalar("SELECT id FROM users WHERE login = 'admin'")
        .fetch_optional(pool)
        .await?
        .ok_or(crate::StoreError::NotFound("demo admin"))?;

    let mut exemptions_created = 0;
    for e in &plan.exemptions {
        let (chief_id, _) = chief(e.chief)?;
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM exemptions
                            WHERE chief_id = $1 AND from_date = $2 AND to_date = $3
                              AND status = 'approved')",
        )
        .bind(chief_id)
        .bind(e.range.from())
        .bind(e.range.to())
        .fetch_one(pool)
        .await?;
        if !exists {
            let new = crate::exemptions::NewExemption {
                chief_id,
                range: e.range,
                reason: e.reason.into(),
            };
            crate::exemptions::create(
                pool,
                &new,
                Some(town_id),
                crate::exemptions::PostedBy::Admin(admin),
            )
            .await?;
            exemptions_created += 1;
        }
    }

    let mut created = 0;
    for p in plan.patrols {
        let (chief_id, user_id) = chief(&p.chief)?;
        let uploaded_at = p.uploaded_at(now);
        let upload = crate::patrols::Ingest {
            chief_id,
            uploaded_by: user_id.unwrap_or(admin),
            bytes: p.file.into_bytes(),
            gzip: None,
            format: p.format,
            gcj02: false,
            notes: p.notes,
            idempotency_key: Some(&p.key),
            now: uploaded_at,
        };
        match crate::patrols::ingest(pool, upload).await {
            Ok(ingested) if ingested.created => created += 1,
            Ok(_) => {}
            Err(crate::patrols::IngestError::Store(e)) => return Err(e),
            Err(e) => {
                return Err(crate::StoreError::Conflict(format!(
                    "demo patrol {}: {e}",
                    p.key
                )));
            }
        }
    }

    let (patrols, valid): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE COALESCE(override_valid, valid))
         FROM patrols WHERE town_id = $1",
    )
    .bind(town_id)
    .fetch_one(pool)
    .await?;
    let reasons: Vec<(String, i64)> = sqlx::query_as(
        "SELECT r, count(*) FROM patrols, unnest(reasons) AS r
         WHERE town_id = $1 AND NOT COALESCE(override_valid, valid) GROUP BY r ORDER BY r",
    )
    .bind(town_id)
    .fetch_all(pool)
    .await?;
    Ok(SeasonSummary {
        first_week: plan.weeks.first().map(ToString::to_string),
        last_week: plan.weeks.last().map(ToString::to_string),
        created,
        exemptions_created,
        patrols,
        valid,
        reasons: reasons.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use domain::patrol::{AssignedReach, assess};
    use domain::validity::RuleSet;
    use geo::{LineString, MultiLineString};

    /// Wednesday of 2026-W47, 12:00 CST.
    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 18, 4, 0, 0).unwrap()
    }

    #[test]
    fn the_season_is_the_quarter_up_to_now() {
        let weeks = weeks(now());
        assert_eq!(weeks.first().unwrap().to_string(), "2026-W40");
        assert_eq!(weeks.last().unwrap().to_string(), "2026-W47");
        // Early in a quarter the previous one is included.
        let early = weeks_at(Utc.with_ymd_and_hms(2026, 10, 7, 4, 0, 0).unwrap());
        assert_eq!(early.first().unwrap().to_string(), "2026-W27");
    }

    fn weeks_at(now: DateTime<Utc>) -> Vec<IsoWeek> {
        weeks(now)
    }

    #[test]
    fn the_plan_is_deterministic_and_grows_with_now() {
        let a = plan(now());
        let b = plan(now());
        assert_eq!(a.patrols.len(), b.patrols.len());
        assert!(
            a.patrols
                .iter()
                .zip(&b.patrols)
                .all(|(x, y)| x.file == y.file && x.key == y.key)
        );
        let later = plan(now() + Duration::days(7));
        assert!(later.patrols.len() > a.patrols.len());
        for p in &a.patrols {
            let q = later.patrols.iter().find(|q| q.key == p.key).expect("kept");
            assert_eq!(q.file, p.file);
        }
        assert!(a.patrols.iter().all(|p| p.ended_at() <= now()));
    }

    #[test]
    fn every_kind_breaks_exactly_its_rule() {
        let plan = plan(now());
        let rules = RuleSet::default();
        let reach = |n: usize| MultiLineString::new(vec![LineString::from(reach_line(n))]);
        let mut seen = BTreeMap::new();
        for p in &plan.patrols {
            let track = domain::read::read_track(p.format, p.file.as_bytes()).unwrap();
            let own: Vec<MultiLineString<f64>> = if p.chief == "HZ000" {
                (1..=REACHES).map(reach).collect()
            } else {
                vec![reach(p.chief[2..].parse().unwrap())]
            };
            let assigned: Vec<AssignedReach<'_>> = own
                .iter()
                .enumerate()
                .map(|(i, geometry)| AssignedReach {
                    reach_id: i as i64,
                    geometry,
                })
                .collect();
            let duplicate = (p.kind == Kind::Replay).then_some(1);
            let a = assess(&track, &assigned, &rules, duplicate, p.uploaded_at(now()));
            let reasons: Vec<&str> = a.validity.reasons.iter().map(|r| r.code()).collect();
            let expected: &[&str] = match p.kind {
                Kind::Walk => &[],
                Kind::Cycled => &["too_brief"],
                Kind::Short => &["too_short", "low_coverage"],
                Kind::Partial => &["low_coverage"],
                Kind::Driven => &["too_fast"],
                Kind::WrongReach => &["outside_assigned_reaches"],
                Kind::Replay => &["duplicate_track"],
            };
            assert_eq!(reasons, expected, "{} {:?}: {:?}", p.key, p.kind, a.metrics);
            assert!(a.flags.is_empty(), "{} {:?}", p.key, a.flags);
            *seen.entry(p.kind).or_insert(0) += 1;
        }
        assert_eq!(seen.len(), 7, "{seen:?}");
        assert_eq!(plan.exemptions.len(), 2);
    }
}
