//! The town's weekly bulletin (周通报): who patrolled and who did not, by
//! name (实名通报) and by village, the week's patrols and problems, and the
//! change from the week before; and the sentences of a reminder (催办).
//! Pure: the figures come in, the bulletin and its markdown go out.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::channels::TownRef;
use crate::compliance::WeekStatus;

/// One chief's week, as the bulletin names them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChiefWeek {
    pub chief_id: i64,
    pub code: String,
    pub name: String,
    pub village: Option<String>,
    pub status: WeekStatus,
    pub valid_patrols: u32,
}

/// The chiefs of a week by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    pub in_office: i64,
    pub compliant: i64,
    pub missed: i64,
    pub exempt: i64,
    pub pending: i64,
}

impl StatusCounts {
    fn add(&mut self, status: WeekStatus) {
        match status {
            WeekStatus::NotInOffice => return,
            WeekStatus::Compliant => self.compliant += 1,
            WeekStatus::Missed => self.missed += 1,
            WeekStatus::Exempt => self.exempt += 1,
            WeekStatus::Pending => self.pending += 1,
        }
        self.in_office += 1;
    }

    fn of(chiefs: &[ChiefWeek]) -> Self {
        let mut counts = Self::default();
        for c in chiefs {
            counts.add(c.status);
        }
        counts
    }

    /// compliant / (compliant + missed); `None` when nobody owed a patrol.
    pub fn rate(&self) -> Option<f64> {
        let owed = self.compliant + self.missed;
        (owed > 0).then(|| self.compliant as f64 / owed as f64)
    }
}

/// The week's patrols and problems (from the town's figures).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Activity {
    pub patrols: i64,
    pub valid_patrols: i64,
    pub km: f64,
    pub issues_found: i64,
    pub issues_resolved: i64,
    /// Problems past their deadline and not resolved at the week's end.
    pub issues_overdue: i64,
}

/// The figures of one week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeekFigures {
    pub week: String,
    #[serde(flatten)]
    pub counts: StatusCounts,
    pub rate: Option<f64>,
    #[serde(flatten)]
    pub activity: Activity,
}

impl WeekFigures {
    pub fn new(week: String, chiefs: &[ChiefWeek], activity: Activity) -> Self {
        let counts = StatusCounts::of(chiefs);
        Self {
            week,
            rate: counts.rate(),
            counts,
            activity,
        }
    }
}

/// The change from the week before (this week minus last).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Change {
    pub compliant: i64,
    pub missed: i64,
    pub exempt: i64,
    pub patrols: i64,
    pub valid_patrols: i64,
    pub km: f64,
    pub issues_found: i64,
    pub issues_resolved: i64,
    /// In percentage points; `None` when either week has no rate.
    pub rate_points: Option<f64>,
}

/// One village's chiefs (town chiefs are under 镇级).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VillageRow {
    pub village: String,
    #[serde(flatten)]
    pub counts: StatusCounts,
}

/// `GET /api/v1/reports/weekly`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bulletin {
    pub town: TownRef,
    pub week: String,
    pub figures: WeekFigures,
    /// Every chief in office, by status then code.
    pub chiefs: Vec<ChiefWeek>,
    pub villages: Vec<VillageRow>,
    pub previous: WeekFigures,
    pub change: Change,
}

/// What a bulletin calls a chief without a village.
pub const TOWN_LEVEL: &str = "镇级";

/// Assembles the bulletin of `week` from its chiefs and activity and the
/// week before's figures.
pub fn bulletin(
    town: TownRef,
    week: String,
    mut chiefs: Vec<ChiefWeek>,
    activity: Activity,
    previous: WeekFigures,
) -> Bulletin {
    chiefs.retain(|c| c.status.in_office());
    chiefs.sort_by(|a, b| {
        status_order(a.status)
            .cmp(&status_order(b.status))
            .then_with(|| a.code.cmp(&b.code))
    });
    let mut by_village: BTreeMap<String, StatusCounts> = BTreeMap::new();
    for c in &chiefs {
        let village = c.village.clone().unwrap_or_else(|| TOWN_LEVEL.to_owned());
        by_village.entry(village).or_default().add(c.status);
    }
    let figures = WeekFigures::new(week.clone(), &chiefs, activity);
    let change = change(&figures, &previous);
    Bulletin {
        town,
        week,
        figures,
        villages: by_village
            .into_iter()
            .map(|(village, counts)| VillageRow { village, counts })
            .collect(),
        chiefs,
        previous,
        change,
    }
}

/// Missed first: the bulletin's point is who did not patrol.
fn status_order(s: WeekStatus) -> u8 {
    match s {
        WeekStatus::Missed => 0,
        WeekStatus::Pending => 1,
        WeekStatus::Exempt => 2,
        WeekStatus::Compliant => 3,
        WeekStatus::NotInOffice => 4,
    }
}

fn change(now: &WeekFigures, before: &WeekFigures) -> Change {
    let (a, b) = (&now.activity, &before.activity);
    Change {
        compliant: now.counts.compliant - before.counts.compliant,
        missed: now.counts.missed - before.counts.missed,
        exempt: now.counts.exempt - before.counts.exempt,
        patrols: a.patrols - b.patrols,
        valid_patrols: a.valid_patrols - b.valid_patrols,
        km: ((a.km - b.km) * 1000.0).round() / 1000.0,
        issues_found: a.issues_found - b.issues_found,
        issues_resolved: a.issues_resolved - b.issues_resolved,
        rate_points: now
            .rate
            .zip(before.rate)
            .map(|(x, y)| ((x - y) * 1000.0).round() / 10.0),
    }
}

/// The zh-CN name of a status in a bulletin.
pub fn status_zh(s: WeekStatus) -> &'static str {
    match s {
        WeekStatus::NotInOffice => "不在任",
        WeekStatus::Compliant => "已巡河",
        WeekStatus::Exempt => "请假",
        WeekStatus::Pending => "未巡河（本周未结束）",
        WeekStatus::Missed => "未巡河",
    }
}

/// A change with its sign: `+2`, `0`, `-1`.
pub fn signed(n: i64) -> String {
    if n > 0 {
        format!("+{n}")
    } else {
        n.to_string()
    }
}

/// The names of the chiefs with `status`, `、`-separated (`无` for none).
pub fn names(b: &Bulletin, status: WeekStatus) -> String {
    let list: Vec<&str> = b
        .chiefs
        .iter()
        .filter(|c| c.status == status)
        .map(|c| c.name.as_str())
        .collect();
    if list.is_empty() {
        "无".to_owned()
    } else {
        list.join("、")
    }
}

/// A rate as a percentage to one decimal (`—` for none).
pub fn rate_text(rate: Option<f64>) -> String {
    rate.map_or("—".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

/// The bulletin as markdown, for the channels and `format=md`.
pub fn markdown(b: &Bulletin) -> String {
    let (f, c) = (&b.figures, &b.change);
    let mut md = format!(
        "## {town} 河长巡河周通报（{week}）\n\n\
         在任河长 {in_office} 名：已巡河 {compliant} 名，未巡河 {missed} 名，请假 {exempt} 名，\
         本周未结束尚未巡河 {pending} 名；达标率 {rate}（上周 {prev_rate}）。\n\n\
         - 巡河 {patrols} 次，有效 {valid} 次（较上周 {d_valid}），有效巡河里程 {km:.1} 公里\n\
         - 发现问题 {found} 个，解决 {resolved} 个，超期未办结 {overdue} 个\n\
         - 已巡河人数较上周 {d_compliant}，未巡河人数较上周 {d_missed}\n\n\
         **未巡河**：{missed_names}\n\n**请假**：{exempt_names}\n\n**已巡河**：{compliant_names}\n",
        town = b.town.name,
        week = b.week,
        in_office = f.counts.in_office,
        compliant = f.counts.compliant,
        missed = f.counts.missed,
        exempt = f.counts.exempt,
        pending = f.counts.pending,
        rate = rate_text(f.rate),
        prev_rate = rate_text(b.previous.rate),
        patrols = f.activity.patrols,
        valid = f.activity.valid_patrols,
        d_valid = signed(c.valid_patrols),
        km = f.activity.km,
        found = f.activity.issues_found,
        resolved = f.activity.issues_resolved,
        overdue = f.activity.issues_overdue,
        d_compliant = signed(c.compliant),
        d_missed = signed(c.missed),
        missed_names = names(b, WeekStatus::Missed),
        exempt_names = names(b, WeekStatus::Exempt),
        compliant_names = names(b, WeekStatus::Compliant),
    );
    if f.counts.pending > 0 {
        md.push_str(&format!(
            "\n**尚未巡河（本周未结束）**：{}\n",
            names(b, WeekStatus::Pending)
        ));
    }
    md.push_str(
        "\n| 村（社区） | 在任 | 已巡河 | 未巡河 | 请假 |\n| --- | --- | --- | --- | --- |\n",
    );
    for v in &b.villages {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            v.village,
            v.counts.in_office,
            v.counts.compliant,
            v.counts.missed + v.counts.pending,
            v.counts.exempt
        ));
    }
    md
}

/// The in-app notice of a reminder, to a chief.
///
/// ```
/// assert_eq!(domain::bulletin::reminder_notice("2026-W49"),
///            "本周（2026-W49）尚未巡河，请在周日 24:00 前完成。");
/// ```
pub fn reminder_notice(week: &str) -> String {
    format!("本周（{week}）尚未巡河，请在周日 24:00 前完成。")
}

/// The channel message of a reminder naming `names`.
pub fn reminder_text(town: &str, week: &str, names: &[&str]) -> String {
    format!(
        "【巡河催办】{town} {week}：以下 {n} 名河长本周尚未巡河，请在周日 24:00 前完成巡河：{list}。",
        n = names.len(),
        list = names.join("、")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chief(id: i64, name: &str, village: Option<&str>, status: WeekStatus) -> ChiefWeek {
        ChiefWeek {
            chief_id: id,
            code: format!("HZ{id:03}"),
            name: name.into(),
            village: village.map(Into::into),
            status,
            valid_patrols: u32::from(status == WeekStatus::Compliant),
        }
    }

    #[test]
    fn names_counts_and_changes() {
        let town = TownRef {
            id: 1,
            code: "530127104".into(),
            name: "牛栏江镇".into(),
        };
        let chiefs = vec![
            chief(1, "张三", Some("大村村"), WeekStatus::Compliant),
            chief(2, "李四", Some("大村村"), WeekStatus::Missed),
            chief(3, "王五", Some("小村村"), WeekStatus::Exempt),
            chief(4, "赵六", None, WeekStatus::Compliant),
            chief(5, "钱七", None, WeekStatus::NotInOffice),
        ];
        let activity = Activity {
            patrols: 3,
            valid_patrols: 2,
            km: 4.2,
            ..Activity::default()
        };
        let previous = WeekFigures::new(
            "2026-W48".into(),
            &[chief(1, "张三", None, WeekStatus::Compliant)],
            Activity::default(),
        );
        let b = bulletin(town, "2026-W49".into(), chiefs, activity, previous);
        assert_eq!(b.figures.counts.in_office, 4);
        assert_eq!(b.chiefs[0].name, "李四", "missed first");
        assert_eq!(b.change.compliant, 1);
        assert_eq!(b.change.valid_patrols, 2);
        assert_eq!(b.change.rate_points, Some(-33.3));
        assert_eq!(b.villages.len(), 3);
        let md = markdown(&b);
        assert!(md.contains("**未巡河**：李四"), "{md}");
        assert!(md.contains("**请假**：王五"), "{md}");
        assert!(md.contains("| 大村村 | 2 | 1 | 1 | 0 |"), "{md}");
        assert!(!md.contains("钱七"));
    }
}
