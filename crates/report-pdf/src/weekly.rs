//! The weekly bulletin (周通报) as PDF, in the quarterly report's style:
//! the week's figures, the chiefs by name and status, one row per village.

use domain::bulletin::{Bulletin, names, rate_text, signed, status_zh};
use domain::compliance::WeekStatus;
use serde::Serialize;

use crate::PdfError;

const WEEKLY_TEMPLATE: &str = include_str!("weekly.typ");

#[derive(Serialize)]
struct WeeklyView {
    font: String,
    title: String,
    footer: String,
    summary: Vec<[String; 2]>,
    groups: Vec<[String; 2]>,
    village_header: [String; 5],
    villages: Vec<[String; 5]>,
}

fn view(b: &Bulletin, font: String) -> WeeklyView {
    let (f, c) = (&b.figures, &b.change);
    let pair = |k: &str, v: String| [k.to_owned(), v];
    let summary = vec![
        pair("在任河长", f.counts.in_office.to_string()),
        pair(
            "已巡河",
            format!("{}（{}）", f.counts.compliant, signed(c.compliant)),
        ),
        pair(
            "未巡河",
            format!(
                "{}（{}）",
                f.counts.missed + f.counts.pending,
                signed(c.missed)
            ),
        ),
        pair("请假", f.counts.exempt.to_string()),
        pair(
            "达标率",
            format!(
                "{}（上周 {}）",
                rate_text(f.rate),
                rate_text(b.previous.rate)
            ),
        ),
        pair("巡河次数", f.activity.patrols.to_string()),
        pair(
            "有效巡河",
            format!(
                "{}（{}）",
                f.activity.valid_patrols,
                signed(c.valid_patrols)
            ),
        ),
        pair("有效里程", format!("{:.1} 公里", f.activity.km)),
        pair("发现问题", f.activity.issues_found.to_string()),
        pair("解决问题", f.activity.issues_resolved.to_string()),
        pair("超期未办结", f.activity.issues_overdue.to_string()),
        pair("", String::new()),
    ];
    let groups = [
        WeekStatus::Missed,
        WeekStatus::Pending,
        WeekStatus::Exempt,
        WeekStatus::Compliant,
    ]
    .into_iter()
    .map(|s| [status_zh(s).to_owned(), names(b, s)])
    .collect();
    let villages = b
        .villages
        .iter()
        .map(|v| {
            [
                v.village.clone(),
                v.counts.in_office.to_string(),
                v.counts.compliant.to_string(),
                (v.counts.missed + v.counts.pending).to_string(),
                v.counts.exempt.to_string(),
            ]
        })
        .collect();
    WeeklyView {
        font,
        title: format!("{} 河长巡河周通报（{}）", b.town.name, b.week),
        footer: format!("{} · {}", b.town.name, b.week),
        summary,
        groups,
        village_header: ["村（社区）", "在任", "已巡河", "未巡河", "请假"].map(str::to_owned),
        villages,
    }
}

/// Typesets the bulletin with the given CJK font and returns the PDF.
pub fn render_weekly(bulletin: &Bulletin, font: &[u8]) -> Result<Vec<u8>, PdfError> {
    crate::typeset_template(WEEKLY_TEMPLATE, font, |family| view(bulletin, family))
}
