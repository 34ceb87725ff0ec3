//! `riverchief compliance`: the weekly status table, a quarter's matrix or
//! the overdue list, printed as aligned columns for a terminal (CJK
//! characters count two columns).

use chrono::Utc;
use domain::compliance::WeekStatus;
use domain::time::{IsoWeek, Quarter, format_cst};
use store::compliance::{OverdueReport, QuarterReport, Scope, WeekReport};

/// What to print.
pub enum View {
    Week(Option<IsoWeek>),
    Quarter(Quarter),
    Overdue,
}

/// Loads and prints one view for the town with code `town` (or every town).
pub async fn run(pool: &store::PgPool, view: View, town: Option<&str>) -> anyhow::Result<()> {
    let town_id = match town {
        Some(code) => Some(
            store::roster::towns(pool, None)
                .await?
                .into_iter()
                .find(|t| t.code == code)
                .ok_or_else(|| anyhow::anyhow!("no town with code {code}"))?
                .id,
        ),
        None => None,
    };
    let scope = Scope {
        town_id,
        ..Scope::default()
    };
    let now = Utc::now();
    let text = match view {
        View::Week(week) => {
            let week = match week {
                Some(w) => w,
                None => IsoWeek::current(now)?,
            };
            week_table(&store::compliance::week(pool, scope, week, now).await?)
        }
        View::Quarter(q) => quarter_table(&store::compliance::quarter(pool, scope, q, now).await?),
        View::Overdue => overdue_table(&store::compliance::overdue(pool, scope, now).await?),
    };
    print!("{text}");
    Ok(())
}

fn status_zh(status: WeekStatus) -> &'static str {
    match status {
        WeekStatus::NotInOffice => "不在任",
        WeekStatus::Compliant => "达标",
        WeekStatus::Exempt => "请假",
        WeekStatus::Pending => "进行中",
        WeekStatus::Missed => "未巡河",
    }
}

/// One letter per status for the quarter matrix.
fn status_mark(status: WeekStatus) -> &'static str {
    match status {
        WeekStatus::NotInOffice => "-",
        WeekStatus::Compliant => "Y",
        WeekStatus::Exempt => "E",
        WeekStatus::Pending => "P",
        WeekStatus::Missed => "X",
    }
}

fn level_zh(level: &str) -> &'static str {
    if level == "town" { "镇级" } else { "村级" }
}

/// The weekly status of every chief.
pub fn week_table(report: &WeekReport) -> String {
    let mut rows = vec![row(&[
        "编码 code",
        "姓名 name",
        "级别",
        "村 village",
        "状态",
        "status",
        "有效巡河 valid",
    ])];
    for c in &report.chiefs {
        rows.push(vec![
            c.code.clone(),
            c.name.clone(),
            level_zh(&c.level).to_owned(),
            c.village_name.clone().unwrap_or_else(|| "—".into()),
            status_zh(c.status).to_owned(),
            c.status.as_str().to_owned(),
            c.valid_patrols.to_string(),
        ]);
    }
    let mut out = format!("{} 每周巡河达标情况 / weekly compliance\n", report.week);
    out.push_str(&align(&rows, &[6]));
    let count = |s| report.chiefs.iter().filter(|c| c.status == s).count();
    out.push_str(&format!(
        "{} chiefs: {} compliant, {} exempt, {} pending, {} missed, {} not in office\n",
        report.chiefs.len(),
        count(WeekStatus::Compliant),
        count(WeekStatus::Exempt),
        count(WeekStatus::Pending),
        count(WeekStatus::Missed),
        count(WeekStatus::NotInOffice),
    ));
    out
}

/// A quarter's matrix: one column per week, then the counts and the rate.
pub fn quarter_table(report: &QuarterReport) -> String {
    let mut header = vec!["编码 code".to_owned(), "姓名 name".to_owned()];
    header.extend(report.weeks.iter().map(|w| format!("W{:02}", w.week())));
    header.extend(
        ["达标", "请假", "未巡", "应巡", "rate"]
            .iter()
            .map(|s| (*s).to_owned()),
    );
    let mut rows = vec![header];
    for c in &report.chiefs {
        let mut r = vec![c.code.clone(), c.name.clone()];
        r.extend(
            report
                .weeks
                .iter()
                .map(|w| c.weeks.get(w).map_or("?", |s| status_mark(*s)).to_owned()),
        );
        r.extend([
            c.compliant.to_string(),
            c.exempt.to_string(),
            c.missed.to_string(),
            c.required.to_string(),
            c.rate
                .map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0)),
        ]);
        rows.push(r);
    }
    let n = rows[0].len();
    let numeric: Vec<usize> = (n - 5..n).collect();
    let mut out = format!(
        "{} ({} weeks, {} – {}) 季度巡河达标 / quarterly compliance\n",
        report.quarter,
        report.weeks.len(),
        report.quarter.first_day(),
        report.quarter.last_day()
    );
    out.push_str(&align(&rows, &numeric));
    out.push_str(
        "Y compliant 达标, E exempt 请假, P pending 进行中, X missed 未巡河, - not in office 不在任; \
         rate = 达标 / 应巡 (应巡 = compliant + missed)\n",
    );
    out
}

/// The chiefs without a valid patrol yet this week.
pub fn overdue_table(report: &OverdueReport) -> String {
    let mut rows = vec![row(&[
        "编码 code",
        "姓名 name",
        "村 village",
        "电话 phone",
        "上次有效巡河 last valid patrol (CST)",
    ])];
    for c in &report.chiefs {
        rows.push(vec![
            c.code.clone(),
            c.name.clone(),
            c.village_name.clone().unwrap_or_else(|| "—".into()),
            c.phone.clone().unwrap_or_default(),
            c.last_patrol_at
                .map_or_else(|| "从未 never".to_owned(), format_cst),
        ]);
    }
    let mut out = format!(
        "{}: {} chiefs without a valid patrol yet, {} day(s) left (today included) 本周尚未巡河\n",
        report.week,
        report.chiefs.len(),
        report.days_left
    );
    out.push_str(&align(&rows, &[]));
    out
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|s| (*s).to_owned()).collect()
}

/// Display width in terminal columns: East Asian wide characters take two.
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| match u32::from(c) {
            0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA000..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x20000..=0x3FFFD => 2,
            _ => 1,
        })
        .sum()
}

/// Pads every column to its widest cell (right-aligned for `numeric`
/// columns), two spaces between columns.
fn align(rows: &[Vec<String>], numeric: &[usize]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| width(c))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            let pad = " ".repeat(widths[i] - width(cell));
            if i > 0 {
                line.push_str("  ");
            }
            if numeric.contains(&i) {
                line.push_str(&pad);
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&pad);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_with_chinese_text() {
        let rows = vec![row(&["编码", "姓名", "n"]), row(&["HZ001", "张建国", "12"])];
        let text = align(&rows, &[2]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "编码   姓名     n");
        assert_eq!(lines[1], "HZ001  张建国  12");
        assert_eq!(width(lines[0]), width(lines[1]));
    }
}
