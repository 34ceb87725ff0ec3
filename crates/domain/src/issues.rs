//! Problems found on the river (问题): the dispatch state machine, handling
//! levels, deadlines, and the recognition of uploaded photo formats.
//!
//! **Lifecycle.** An issue is `reported`, then `assigned` to a chief, who
//! `start`s work on it (`in_progress`) and `resolve`s it; the town office
//! `verify`s the fix and the issue is `closed`. A resolved issue whose fix
//! does not hold is `reopen`ed (back to `in_progress`), and an unfounded
//! report is `reject`ed (closed) from any open status. `escalate` hands an
//! issue from its village up to the town: it goes back to `reported` with no
//! assignee, because the village could not handle it and the town office has
//! to dispatch it again (to a town chief, a department, or back to a village
//! chief with support). Only unfinished work is escalated: from `reported`,
//! `assigned` or `in_progress`, and only while the level is `village`.
//!
//! [`transition`] is the whole table: status × level × action → the next
//! status and level, or an [`InvalidTransition`] that names what *is*
//! allowed.
//!
//! ```
//! use domain::issues::{Action, Level, Status, transition};
//!
//! let next = transition(Status::Assigned, Level::Village, Action::Start)?;
//! assert_eq!(next.status, Status::InProgress);
//!
//! let err = transition(Status::Closed, Level::Village, Action::Start).unwrap_err();
//! assert_eq!(err.allowed, vec![]);
//! assert!(err.to_string().contains("closed"));
//! # Ok::<(), domain::issues::InvalidTransition>(())
//! ```
//!
//! **Deadlines.** An issue must be handled within a number of days that
//! depends on its handling level (default 7 days at village level, 15 at town
//! level; towns may override both), counted from its creation, and again
//! from every `assign` (the clock restarts with the new handler) and every
//! `escalate` (the town's clock starts when it takes over). An issue is
//! **overdue** when it is still waiting for handling (`reported`, `assigned`
//! or `in_progress`) after its deadline: a `resolved` issue has been handled
//! in time and waits for the office, a `closed` one is done.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where an issue is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Reported,
    Assigned,
    InProgress,
    Resolved,
    Closed,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 5] = [
        Status::Reported,
        Status::Assigned,
        Status::InProgress,
        Status::Resolved,
        Status::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reported => "reported",
            Self::Assigned => "assigned",
            Self::InProgress => "in_progress",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Not closed yet (Open311's `open`).
    pub fn is_open(self) -> bool {
        self != Self::Closed
    }

    /// Still waiting for someone to handle it; only these can be overdue.
    pub fn awaits_handling(self) -> bool {
        matches!(self, Self::Reported | Self::Assigned | Self::InProgress)
    }

    /// The status in words, for the public (Open311 `status_notes`).
    pub fn notes_zh(self) -> &'static str {
        match self {
            Self::Reported => "已受理，等待派单",
            Self::Assigned => "已派单，等待河长处理",
            Self::InProgress => "正在处理",
            Self::Resolved => "已处理，等待核查",
            Self::Closed => "已办结",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who handles an issue: a village chief, or the town.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Village,
    Town,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Village => "village",
            Self::Town => "town",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "village" => Some(Self::Village),
            "town" => Some(Self::Town),
            _ => None,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an issue came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Found on a patrol (the report names the patrol).
    Patrol,
    /// A complaint from the public through Open311.
    Public,
    /// Reported by a logged-in chief or the office.
    Staff,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Patrol => "patrol",
            Self::Public => "public",
            Self::Staff => "staff",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "patrol" => Some(Self::Patrol),
            "public" => Some(Self::Public),
            "staff" => Some(Self::Staff),
            _ => None,
        }
    }
}

/// What can be done to an issue (`POST /api/v1/issues/{id}/transitions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Assign,
    Start,
    Resolve,
    Verify,
    Reopen,
    Escalate,
    Reject,
}

impl Action {
    /// Every action, in the order they are usually taken.
    pub const ALL: [Action; 7] = [
        Action::Assign,
        Action::Start,
        Action::Resolve,
        Action::Verify,
        Action::Reopen,
        Action::Escalate,
        Action::Reject,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assign => "assign",
            Self::Start => "start",
            Self::Resolve => "resolve",
            Self::Verify => "verify",
            Self::Reopen => "reopen",
            Self::Escalate => "escalate",
            Self::Reject => "reject",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Whether the action restarts the deadline clock.
    pub fn restarts_deadline(self) -> bool {
        matches!(self, Self::Assign | Self::Escalate)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an allowed action leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Next {
    pub status: Status,
    pub level: Level,
    /// The assignee is dropped (escalation: the town dispatches anew).
    pub clears_assignee: bool,
}

/// An action that is not allowed in the issue's current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct InvalidTransition {
    pub action: Action,
    pub status: Status,
    pub level: Level,
    /// What would be allowed instead (possibly nothing).
    pub allowed: Vec<Action>,
}

impl InvalidTransition {
    /// The stable error code.
    pub const CODE: &'static str = "invalid_transition";

    fn message(&self) -> String {
        let why = if self.action == Action::Escalate
            && self.level == Level::Town
            && self.status.awaits_handling()
        {
            "the issue is already handled at town level".to_owned()
        } else {
            format!("the issue is {}", self.status)
        };
        let allowed = if self.allowed.is_empty() {
            "no action is allowed any more".to_owned()
        } else {
            let names: Vec<&str> = self.allowed.iter().map(|a| a.as_str()).collect();
            format!("allowed now: {}", names.join(", "))
        };
        format!("cannot {} this issue: {why}; {allowed}", self.action)
    }
}

/// The state machine: what `action` does to an issue that is `status` at
/// handling `level`.
pub fn transition(status: Status, level: Level, action: Action) -> Result<Next, InvalidTransition> {
    next(status, level, action).ok_or_else(|| InvalidTransition {
        action,
        status,
        level,
        allowed: allowed_actions(status, level),
    })
}

/// The actions allowed for an issue that is `status` at `level`.
pub fn allowed_actions(status: Status, level: Level) -> Vec<Action> {
    Action::ALL
        .into_iter()
        .filter(|&a| next(status, level, a).is_some())
        .collect()
}

/// The table itself.
fn next(status: Status, level: Level, action: Action) -> Option<Next> {
    use Status::*;
    let to = |status| {
        Some(Next {
            status,
            level,
            clears_assignee: false,
        })
    };
    match (action, status) {
        (Action::Assign, Reported | Assigned) => to(Assigned),
        (Action::Start, Assigned) => to(InProgress),
        (Action::Resolve, InProgress) => to(Resolved),
        (Action::Verify, Resolved) => to(Closed),
        (Action::Reopen, Resolved) => to(InProgress),
        (Action::Reject, Reported | Assigned | InProgress | Resolved) => to(Closed),
        (Action::Escalate, Reported | Assigned | InProgress) if level == Level::Village => {
            Some(Next {
                status: Reported,
                level: Level::Town,
                clears_assignee: true,
            })
        }
        _ => None,
    }
}

// ------------------------------------------------------------------ deadlines

/// Days allowed for handling, per level. Towns may override both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeadlinePolicy {
    /// Days for a village chief (default 7).
    pub village_days: u32,
    /// Days for the town (default 15).
    pub town_days: u32,
}

impl Default for DeadlinePolicy {
    fn default() -> Self {
        Self {
            village_days: 7,
            town_days: 15,
        }
    }
}

impl DeadlinePolicy {
    /// The policy from a town's `rules` document: the keys
    /// `issue_deadline_village_days` and `issue_deadline_town_days` override
    /// the defaults; missing, zero or malformed values are ignored.
    ///
    /// ```
    /// use domain::issues::DeadlinePolicy;
    /// let p = DeadlinePolicy::from_rules(&serde_json::json!({"issue_deadline_town_days": 10}));
    /// assert_eq!((p.village_days, p.town_days), (7, 10));
    /// ```
    pub fn from_rules(rules: &serde_json::Value) -> Self {
        let days = |key: &str| {
            rules
                .get(key)
                .and_then(serde_json::Value::as_u64)
                .filter(|d| (1..=365).contains(d))
                .and_then(|d| u32::try_from(d).ok())
        };
        let default = Self::default();
        Self {
            village_days: days("issue_deadline_village_days").unwrap_or(default.village_days),
            town_days: days("issue_deadline_town_days").unwrap_or(default.town_days),
        }
    }

    pub fn days(&self, level: Level) -> u32 {
        match level {
            Level::Village => self.village_days,
            Level::Town => self.town_days,
        }
    }

    /// The deadline for an issue handled at `level` whose clock started at
    /// `from` (creation, assignment or escalation).
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use domain::issues::{DeadlinePolicy, Level};
    /// let t = Utc.with_ymd_and_hms(2026, 7, 1, 2, 0, 0).unwrap();
    /// let d = DeadlinePolicy::default().deadline(Level::Village, t);
    /// assert_eq!(d, Utc.with_ymd_and_hms(2026, 7, 8, 2, 0, 0).unwrap());
    /// ```
    pub fn deadline(&self, level: Level, from: DateTime<Utc>) -> DateTime<Utc> {
        from + TimeDelta::days(i64::from(self.days(level)))
    }
}

/// Overdue: still waiting for handling after the deadline.
pub fn is_overdue(status: Status, deadline: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    status.awaits_handling() && deadline.is_some_and(|d| d < now)
}

// ------------------------------------------------------------------- photos

/// A photo format recognised from the first bytes of the file (never from
/// the name or the declared content type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoFormat {
    Jpeg,
    Png,
    Webp,
}

impl PhotoFormat {
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
        }
    }
}

/// Why a file is not accepted as a photo.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoFormatError {
    #[error(
        "HEIC/HEIF photos (the iPhone default) cannot be read here: send JPEG instead \
         (on the iPhone: Settings → Camera → Formats → Most Compatible, or share as JPEG)"
    )]
    Heic,
    #[error("not a photo this service reads: send JPEG, PNG or WebP")]
    Unknown,
}

/// Recognises JPEG, PNG and WebP by their signatures; names HEIC/HEIF
/// (ISO-BMFF `ftyp` with a HEIF brand) so the user can be told what to do.
///
/// ```
/// use domain::issues::{PhotoFormat, PhotoFormatError, sniff_photo};
/// assert_eq!(sniff_photo(b"\xFF\xD8\xFF\xE0rest"), Ok(PhotoFormat::Jpeg));
/// assert_eq!(sniff_photo(b"\0\0\0\x18ftypheic\0\0\0\0"), Err(PhotoFormatError::Heic));
/// assert_eq!(sniff_photo(b"GIF89a"), Err(PhotoFormatError::Unknown));
/// ```
pub fn sniff_photo(bytes: &[u8]) -> Result<PhotoFormat, PhotoFormatError> {
    const HEIF_BRANDS: [&[u8]; 8] = [
        b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
    ];
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Ok(PhotoFormat::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok(PhotoFormat::Png)
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Ok(PhotoFormat::Webp)
    } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" && HEIF_BRANDS.contains(&&bytes[8..12]) {
        Err(PhotoFormatError::Heic)
    } else {
        Err(PhotoFormatError::Unknown)
    }
}

/// The category group shown to the public (Open311 `group`): pollution,
/// illegal use of the river, or upkeep of the channel and its facilities.
pub fn category_group(code: &str) -> &'static str {
    match code {
        "floating_garbage" | "sewage" | "water_quality" => "水环境污染",
        "sand_mining" | "encroachment" => "涉河违法",
        "siltation" | "facility_damage" => "河道及设施管护",
        _ => "其他",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;
    use Status::*;

    /// The whole table at village level: `Some(to)` where allowed.
    #[test]
    fn state_machine_table_village_level() {
        let table: [(Status, [Option<Status>; 7]); 5] = [
            //            assign          start             resolve         verify        reopen            escalate        reject
            (
                Reported,
                [
                    Some(Assigned),
                    None,
                    None,
                    None,
                    None,
                    Some(Reported),
                    Some(Closed),
                ],
            ),
            (
                Assigned,
                [
                    Some(Assigned),
                    Some(InProgress),
                    None,
                    None,
                    None,
                    Some(Reported),
                    Some(Closed),
                ],
            ),
            (
                InProgress,
                [
                    None,
                    None,
                    Some(Resolved),
                    None,
                    None,
                    Some(Reported),
                    Some(Closed),
                ],
            ),
            (
                Resolved,
                [
                    None,
                    None,
                    None,
                    Some(Closed),
                    Some(InProgress),
                    None,
                    Some(Closed),
                ],
            ),
            (Closed, [None; 7]),
        ];
        for (status, row) in table {
            for (action, expected) in Action::ALL.into_iter().zip(row) {
                let got = transition(status, Level::Village, action);
                assert_eq!(
                    got.as_ref().ok().map(|n| n.status),
                    expected,
                    "{status} × {action}"
                );
                match got {
                    Ok(next) => {
                        let escalated = action == Escalate;
                        assert_eq!(next.clears_assignee, escalated, "{status} × {action}");
                        let level = if escalated {
                            Level::Town
                        } else {
                            Level::Village
                        };
                        assert_eq!(next.level, level, "{status} × {action}");
                    }
                    Err(e) => {
                        assert_eq!(e.status, status);
                        assert!(!e.allowed.contains(&action));
                        assert!(e.to_string().contains(status.as_str()), "{e}");
                    }
                }
            }
        }
    }

    #[test]
    fn town_level_is_the_same_except_escalate() {
        for status in Status::ALL {
            for action in Action::ALL {
                let village = transition(status, Level::Village, action);
                let town = transition(status, Level::Town, action);
                if action == Escalate {
                    let e = town.expect_err("nothing escalates above the town");
                    if status.awaits_handling() {
                        assert!(e.to_string().contains("already handled at town level"));
                    }
                } else {
                    assert_eq!(village.ok().map(|n| n.status), town.ok().map(|n| n.status));
                }
            }
        }
    }

    #[test]
    fn allowed_actions_are_listed_in_the_error() {
        let e = transition(Resolved, Level::Village, Start).unwrap_err();
        assert_eq!(e.allowed, vec![Verify, Reopen, Reject]);
        assert_eq!(
            e.to_string(),
            "cannot start this issue: the issue is resolved; allowed now: verify, reopen, reject"
        );
        let e = transition(Closed, Level::Town, Reopen).unwrap_err();
        assert!(e.allowed.is_empty());
        assert!(e.to_string().ends_with("no action is allowed any more"));
    }

    #[test]
    fn names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
        }
        for l in [Level::Village, Level::Town] {
            assert_eq!(Level::parse(l.as_str()), Some(l));
        }
        for s in [Source::Patrol, Source::Public, Source::Staff] {
            assert_eq!(Source::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("open"), None);
    }

    #[test]
    fn deadlines_and_overdue() {
        use chrono::TimeZone;
        let t = Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap();
        let p = DeadlinePolicy::default();
        assert_eq!(p.deadline(Level::Town, t) - t, TimeDelta::days(15));
        assert_eq!(p.deadline(Level::Village, t) - t, TimeDelta::days(7));
        let later = t + TimeDelta::days(8);
        let d = Some(p.deadline(Level::Village, t));
        assert!(is_overdue(Assigned, d, later));
        assert!(is_overdue(InProgress, d, later));
        assert!(!is_overdue(Resolved, d, later));
        assert!(!is_overdue(Closed, d, later));
        assert!(!is_overdue(Assigned, d, t));
        assert!(!is_overdue(Reported, None, later));
        let odd = DeadlinePolicy::from_rules(&serde_json::json!({
            "issue_deadline_village_days": 0, "issue_deadline_town_days": "x"}));
        assert_eq!(odd, DeadlinePolicy::default());
    }

    #[test]
    fn photo_signatures() {
        assert_eq!(sniff_photo(b"\x89PNG\r\n\x1a\n...."), Ok(PhotoFormat::Png));
        assert_eq!(sniff_photo(b"RIFF\0\0\0\0WEBPVP8 "), Ok(PhotoFormat::Webp));
        assert_eq!(
            sniff_photo(b"\0\0\0\x1cftypmif1\0\0\0\0"),
            Err(PhotoFormatError::Heic)
        );
        assert_eq!(sniff_photo(b""), Err(PhotoFormatError::Unknown));
        assert_eq!(sniff_photo(b"%PDF-1.7"), Err(PhotoFormatError::Unknown));
        assert!(PhotoFormatError::Heic.to_string().contains("JPEG"));
    }
}
