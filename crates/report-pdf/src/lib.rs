//! The quarterly assessment (季度考核) and the year view (年度考核) as PDF
//! for party-branch reviews, as a branch secretary files it: title with town
//! and period ("统计截至" while the period runs), the town summary (the year:
//! also quarter by quarter), one table of every chief grouped by party
//! branch, a bar chart of compliance rates that is never split across
//! pages, and a sign-off block (填报单位, 审核人, 日期, 盖章); pages are
//! numbered "第 N 页 共 M 页".
//!
//! [`render`] and [`render_year`] are pure (report + font bytes in, PDF bytes out); typst lays the
//! pages out from `report.typ` and embeds a subset of the CJK font. The only
//! I/O is [`load_font`], which reads the font from `RIVERCHIEF_PDF_FONT` or
//! the Debian package `fonts-wqy-microhei`.

use domain::report::{ChiefRow, Figures, QuarterlyReport, YearChiefRow, YearlyReport, rate_text};
use domain::time::{IsoWeek, Quarter};
use serde::Serialize;
use std::path::{Path, PathBuf};
use typst::foundations::{Bytes, Dict, IntoValue};
use typst::text::Font;
use typst_as_lib::TypstEngine;
use typst_layout::PagedDocument;

/// Environment variable naming the font file (TTF, OTF or TTC with CJK glyphs).
pub const FONT_ENV: &str = "RIVERCHIEF_PDF_FONT";

/// Where Debian's `fonts-wqy-microhei` puts WenQuanYi Micro Hei.
pub const DEBIAN_FONT: &str = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";

/// The Debian package that provides [`DEBIAN_FONT`].
pub const FONT_PACKAGE: &str = "fonts-wqy-microhei";

const TEMPLATE: &str = include_str!("report.typ");

mod weekly;
pub use weekly::render_weekly;

/// Why no PDF came out.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// The font file is missing or unreadable: an installation problem.
    #[error(
        "the PDF font {path} cannot be read ({reason}): install the Debian package {FONT_PACKAGE} \
         (apt-get install {FONT_PACKAGE}) or set {FONT_ENV} to a CJK TrueType/OpenType font"
    )]
    FontMissing { path: String, reason: String },
    /// The bytes are not a font typst can use.
    #[error(
        "the PDF font {path} is not a TrueType/OpenType font: install {FONT_PACKAGE} or point {FONT_ENV} at a CJK font"
    )]
    NotAFont { path: String },
    /// typst failed to lay out or write the document (a bug in the template).
    #[error("typesetting the PDF failed: {0}")]
    Typeset(String),
}

/// The font file to use: `$RIVERCHIEF_PDF_FONT`, else [`DEBIAN_FONT`].
pub fn font_path() -> PathBuf {
    std::env::var_os(FONT_ENV)
        .filter(|p| !p.is_empty())
        .map_or_else(|| PathBuf::from(DEBIAN_FONT), PathBuf::from)
}

/// Reads the font file `path`, or [`font_path`]'s, and checks that it is a font.
pub fn load_font(path: Option<&Path>) -> Result<Vec<u8>, PdfError> {
    let path = path.map_or_else(font_path, Path::to_path_buf);
    let bytes = std::fs::read(&path).map_err(|e| PdfError::FontMissing {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    if Font::iter(Bytes::new(bytes.clone())).next().is_none() {
        return Err(PdfError::NotAFont {
            path: path.display().to_string(),
        });
    }
    Ok(bytes)
}

/// A chief's table row, as shown (strings, so the PDF says exactly what the
/// CSV and XLSX say).
fn chief_cells(c: &ChiefRow) -> Vec<String> {
    let f = &c.figures;
    vec![
        c.name.clone(),
        level_zh(&c.level).to_owned(),
        f.required.to_string(),
        f.compliant.to_string(),
        f.exempt.to_string(),
        f.missed.to_string(),
        rate_text(f.rate),
        format!("{:.2}", c.score.total),
        c.rank.to_string(),
    ]
}

fn level_zh(level: &str) -> &'static str {
    if level == "town" { "镇级" } else { "村级" }
}

const CHIEF_HEADERS: [&str; 9] = [
    "河长",
    "级别",
    "应巡周数",
    "达标周数",
    "免巡周数",
    "未巡周数",
    "达标率",
    "得分",
    "排名",
];

#[derive(Serialize)]
struct Branch {
    name: String,
    line: String,
    rows: Vec<Vec<String>>,
}

#[derive(Serialize)]
struct Bar {
    name: String,
    /// 0..=1, `None` when nothing was required.
    rate: Option<f64>,
    label: String,
}

/// What the template lays out; the same for a quarter and a year.
#[derive(Serialize)]
struct View {
    font: String,
    title: String,
    subtitle: String,
    footer: String,
    summary: Vec<[String; 2]>,
    /// The town quarter by quarter (the year view only): a header row, then rows.
    quarters: Vec<Vec<String>>,
    /// The chief tables' headers, relative column widths, and how many
    /// columns from the left are text (left-aligned).
    headers: Vec<String>,
    widths: Vec<f64>,
    text_columns: usize,
    branches: Vec<Branch>,
    chart_title: String,
    bars: Vec<Bar>,
    formula: String,
    /// "统计截至 …" while the period is still running, else none.
    as_of: Option<String>,
    /// 填报单位 of the sign-off block: the town.
    unit: String,
}

/// "统计截至 <CST time>（…尚未结束）" when the report was made before `end`.
fn as_of(
    generated_at: chrono::DateTime<chrono::Utc>,
    end: Option<chrono::DateTime<chrono::Utc>>,
    period: &str,
) -> Option<String> {
    end.filter(|end| generated_at < *end).map(|_| {
        format!(
            "统计截至 {}（{period}尚未结束，数字还会变化）",
            domain::time::format_cst(generated_at)
        )
    })
}

fn summary(f: &Figures, chiefs: u32, branches: u32, mean_score: Option<f64>) -> Vec<[String; 2]> {
    vec![
        ["河长人数".to_owned(), chiefs.to_string()],
        ["党支部数".to_owned(), branches.to_string()],
        ["应巡周数".to_owned(), f.required.to_string()],
        ["达标周数".to_owned(), f.compliant.to_string()],
        ["免巡周数".to_owned(), f.exempt.to_string()],
        ["未巡周数".to_owned(), f.missed.to_string()],
        ["达标率".to_owned(), rate_text(f.rate)],
        ["有效巡河次数".to_owned(), f.valid_patrols.to_string()],
        ["巡河里程(km)".to_owned(), format!("{:.2}", f.km)],
        ["巡河时长(h)".to_owned(), format!("{:.2}", f.hours)],
        ["发现问题".to_owned(), f.issues_found.to_string()],
        [
            "解决问题(按期)".to_owned(),
            format!("{} ({})", f.resolved, f.resolved_on_time),
        ],
        [
            "平均得分".to_owned(),
            mean_score.map_or("—".into(), |s| format!("{s:.2}")),
        ],
        ["待完成周数".to_owned(), f.pending.to_string()],
    ]
}

fn week_span(weeks: &[IsoWeek]) -> String {
    match (weeks.first(), weeks.last()) {
        (Some(a), Some(b)) => format!("{a} 至 {b}，共 {} 周", weeks.len()),
        _ => String::new(),
    }
}

fn bar(name: &str, rate: Option<f64>) -> Bar {
    Bar {
        name: name.to_owned(),
        rate: rate.map(|r| r.clamp(0.0, 1.0)),
        label: rate_text(rate),
    }
}

/// Groups chief rows under their party branches; chiefs of no (listed)
/// branch go last under 未分配党支部.
fn group_by_branch<C>(
    branches: Vec<(i64, String, String)>,
    chiefs: &[C],
    branch_of: impl Fn(&C) -> Option<i64>,
    cells: impl Fn(&C) -> Vec<String>,
) -> Vec<Branch> {
    let listed = |id: i64| branches.iter().any(|(b, _, _)| *b == id);
    let unbranched: Vec<Vec<String>> = chiefs
        .iter()
        .filter(|c| branch_of(c).is_none_or(|id| !listed(id)))
        .map(&cells)
        .collect();
    let mut out: Vec<Branch> = branches
        .iter()
        .map(|(id, name, line)| Branch {
            name: name.clone(),
            line: line.clone(),
            rows: chiefs
                .iter()
                .filter(|c| branch_of(c) == Some(*id))
                .map(&cells)
                .collect(),
        })
        .collect();
    if !unbranched.is_empty() {
        out.push(Branch {
            name: "未分配党支部".to_owned(),
            line: format!("河长 {} 人", unbranched.len()),
            rows: unbranched,
        });
    }
    out
}

fn branch_line(chiefs: u32, rate: Option<f64>, score: f64, rank: u32) -> String {
    format!(
        "河长 {chiefs} 人 · 达标率 {} · 得分 {score:.2} · 党支部排名 {rank}",
        rate_text(rate)
    )
}

fn view(report: &QuarterlyReport, font_family: String) -> View {
    let t = &report.town;
    let branches = report
        .branches
        .iter()
        .map(|b| {
            let line = branch_line(b.chiefs, b.figures.rate, b.score.total, b.rank);
            (b.branch_id, b.name.clone(), line)
        })
        .collect();
    View {
        font: font_family,
        title: format!("{} 河长制工作季度考核", t.name),
        subtitle: format!(
            "{}年第{}季度（{}）· {}",
            report.quarter.year(),
            report.quarter.q(),
            report.quarter,
            week_span(&report.weeks)
        ),
        footer: format!(
            "{} {} · 生成于 {}",
            t.name,
            report.quarter,
            domain::time::format_cst(report.generated_at)
        ),
        summary: summary(&t.figures, t.chiefs, t.branches, t.mean_score),
        quarters: Vec::new(),
        headers: CHIEF_HEADERS.map(str::to_owned).to_vec(),
        widths: vec![2.2, 1.0, 1.0, 1.0, 1.0, 1.0, 1.1, 1.0, 0.8],
        text_columns: 2,
        branches: group_by_branch(branches, &report.chiefs, |c| c.branch_id, chief_cells),
        chart_title: "达标率图".to_owned(),
        bars: report
            .chiefs
            .iter()
            .map(|c| bar(&c.name, c.figures.rate))
            .collect(),
        formula: formula_text(&report.formula),
        as_of: as_of(
            report.generated_at,
            report.weeks.last().map(|w| w.end_utc()),
            "本季度",
        ),
        unit: t.name.clone(),
    }
}

/// 一季度 … 四季度: the year view's quarter headers.
fn quarter_zh(q: Quarter) -> String {
    format!(
        "{}季度",
        ["一", "二", "三", "四"][(q.q() as usize - 1).min(3)]
    )
}

fn year_chief_cells(report: &YearlyReport, c: &YearChiefRow) -> Vec<String> {
    let f = &c.figures;
    let mut row = vec![c.name.clone(), level_zh(&c.level).to_owned()];
    row.extend(report.quarter_rates(&c.quarters));
    row.extend([
        f.required.to_string(),
        f.compliant.to_string(),
        rate_text(f.rate),
        format!("{:.2}", c.score.total),
        c.rank.to_string(),
    ]);
    row
}

/// The town quarter by quarter: the year view's first table.
fn town_quarters(report: &YearlyReport) -> Vec<Vec<String>> {
    let mut rows = vec![
        [
            "季度",
            "应巡周数",
            "达标周数",
            "免巡周数",
            "未巡周数",
            "达标率",
            "有效巡河次数",
            "发现问题",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for q in &report.quarters {
        let Some(f) = report.town.quarters.get(q) else {
            rows.push(vec![
                format!("{}（{q}）", quarter_zh(*q)),
                "—".into(),
                "—".into(),
                "—".into(),
                "—".into(),
                "—".into(),
                "—".into(),
                "—".into(),
            ]);
            continue;
        };
        rows.push(vec![
            format!("{}（{q}）", quarter_zh(*q)),
            f.required.to_string(),
            f.compliant.to_string(),
            f.exempt.to_string(),
            f.missed.to_string(),
            rate_text(f.rate),
            f.valid_patrols.to_string(),
            f.issues_found.to_string(),
        ]);
    }
    rows
}

fn year_view(report: &YearlyReport, font_family: String) -> View {
    let t = &report.town;
    let mut headers = vec!["河长".to_owned(), "级别".to_owned()];
    headers.extend(report.quarters.iter().map(|q| quarter_zh(*q)));
    headers.extend(["应巡周数", "达标周数", "全年达标率", "得分", "排名"].map(str::to_owned));
    let mut widths = vec![2.0, 0.9];
    widths.extend(report.quarters.iter().map(|_| 1.0));
    widths.extend([1.0, 1.0, 1.1, 0.9, 0.7]);
    let branches = report
        .branches
        .iter()
        .map(|b| {
            let line = branch_line(b.chiefs, b.figures.rate, b.score.total, b.rank);
            (b.branch_id, b.name.clone(), line)
        })
        .collect();
    View {
        font: font_family,
        title: format!("{} 河长制工作年度考核", t.name),
        subtitle: format!("{}年 · {}", report.year, week_span(&report.weeks)),
        footer: format!(
            "{} {}年 · 生成于 {}",
            t.name,
            report.year,
            domain::time::format_cst(report.generated_at)
        ),
        summary: summary(&t.figures, t.chiefs, t.branches, t.mean_score),
        quarters: town_quarters(report),
        headers,
        widths,
        text_columns: 2,
        branches: group_by_branch(
            branches,
            &report.chiefs,
            |c| c.branch_id,
            |c| year_chief_cells(report, c),
        ),
        chart_title: "全年达标率图".to_owned(),
        bars: report
            .chiefs
            .iter()
            .map(|c| bar(&c.name, c.figures.rate))
            .collect(),
        formula: formula_text(&report.formula),
        as_of: as_of(
            report.generated_at,
            report.weeks.last().map(|w| w.end_utc()),
            "本年度",
        ),
        unit: t.name.clone(),
    }
}

/// The score formula in words, from its serialised settings.
fn formula_text(formula: &domain::scoring::ScoreFormula) -> String {
    let v = serde_json::to_value(formula).unwrap_or_default();
    let n = |k: &str| v[k].as_f64().map_or("?".to_owned(), |x| format!("{x}"));
    format!(
        "得分 = {} × 达标率 + {} × 按期解决率 + {} × min(发现问题, {cap}) / {cap}；\
         达标率 = 达标周数 / 应巡周数（应巡 = 在任周数 − 免巡周数，不含进行中的周）；\
         无应巡周时不计达标率，其余部分按比例折算；无待解决问题时按期解决率计满分。",
        n("compliance_points"),
        n("on_time_resolution_points"),
        n("problems_found_points"),
        cap = n("problems_found_cap"),
    )
}

/// Typesets the quarterly report with the given font (TTF, OTF or a TTC
/// collection; it needs CJK glyphs) and returns the PDF, the font
/// subset-embedded.
pub fn render(report: &QuarterlyReport, font: &[u8]) -> Result<Vec<u8>, PdfError> {
    typeset(font, |family| view(report, family))
}

/// Typesets the year view (年度考核): the town quarter by quarter, a table
/// per party branch with each chief's four quarterly rates and the year's,
/// and a chart of the year's rates.
pub fn render_year(report: &YearlyReport, font: &[u8]) -> Result<Vec<u8>, PdfError> {
    typeset(font, |family| year_view(report, family))
}

fn typeset(font: &[u8], view: impl FnOnce(String) -> View) -> Result<Vec<u8>, PdfError> {
    typeset_template(TEMPLATE, font, view)
}

/// Typesets `template` with the JSON of `view(font family)` as `sys.inputs.data`.
fn typeset_template<V: Serialize>(
    template: &'static str,
    font: &[u8],
    view: impl FnOnce(String) -> V,
) -> Result<Vec<u8>, PdfError> {
    let fonts: Vec<Font> = Font::iter(Bytes::new(font.to_vec())).collect();
    let family = fonts
        .first()
        .map(|f| f.info().family.clone())
        .ok_or_else(|| PdfError::NotAFont {
            path: "(the font given)".to_owned(),
        })?;
    let data =
        serde_json::to_string(&view(family)).map_err(|e| PdfError::Typeset(e.to_string()))?;
    let engine = TypstEngine::builder()
        .main_file(template)
        .fonts(fonts)
        .build();
    let mut inputs = Dict::new();
    inputs.insert("data".into(), data.into_value());
    let document: PagedDocument = engine
        .compile_with_input(inputs)
        .output
        .map_err(|e| PdfError::Typeset(e.to_string()))?;
    typst_pdf::pdf(&document, &typst_pdf::PdfOptions::default())
        .map_err(|e| PdfError::Typeset(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_a_font() {
        let report = sample();
        assert!(matches!(
            render(&report, b"not a font"),
            Err(PdfError::NotAFont { .. })
        ));
    }

    #[test]
    fn a_missing_font_names_the_package() {
        let e = load_font(Some(Path::new("/nonexistent/wqy-microhei.ttc"))).unwrap_err();
        assert!(matches!(e, PdfError::FontMissing { .. }));
        let message = e.to_string();
        assert!(
            message.contains("apt-get install fonts-wqy-microhei"),
            "{message}"
        );
        assert!(
            message.contains("/nonexistent/wqy-microhei.ttc"),
            "{message}"
        );
    }

    /// With the Debian font installed: a PDF with every chief in it.
    #[test]
    fn renders_with_the_debian_font() {
        let Ok(font) = std::fs::read(DEBIAN_FONT) else {
            eprintln!("skipped: {DEBIAN_FONT} is not installed ({FONT_PACKAGE})");
            return;
        };
        let pdf = render(&sample(), &font).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        // Subset-embedded: far smaller than the 5 MB collection.
        assert!(pdf.len() < 500_000, "{} bytes", pdf.len());
    }

    /// "统计截至" only while the period runs.
    #[test]
    fn as_of_only_while_the_period_runs() {
        let q3 = sample();
        let end = q3.weeks.last().unwrap().end_utc();
        let before = end - chrono::Duration::days(3);
        let line = as_of(before, Some(end), "本季度").unwrap();
        assert!(line.starts_with("统计截至 "), "{line}");
        assert!(line.contains("本季度尚未结束"), "{line}");
        assert_eq!(as_of(end, Some(end), "本季度"), None);
        assert_eq!(
            view(&q3, "x".into()).as_of,
            None,
            "2026-Q3 is over on 2026-11-29"
        );
    }

    /// The year view: four quarter columns, the town quarter by quarter.
    #[test]
    fn renders_the_year_with_the_debian_font() {
        let Ok(font) = std::fs::read(DEBIAN_FONT) else {
            eprintln!("skipped: {DEBIAN_FONT} is not installed ({FONT_PACKAGE})");
            return;
        };
        let year = sample_year();
        let view = year_view(&year, "WenQuanYi Micro Hei".into());
        assert_eq!(view.headers.len(), view.widths.len());
        assert_eq!(view.headers[2..6], ["一季度", "二季度", "三季度", "四季度"]);
        assert_eq!(view.quarters.len(), 5, "a header and four quarters");
        for branch in &view.branches {
            for row in &branch.rows {
                assert_eq!(row.len(), view.headers.len(), "{row:?}");
            }
        }
        let pdf = render_year(&year, &font).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
    }

    fn sample_year() -> YearlyReport {
        let quarters = (1..=4)
            .map(|q| {
                let mut r = sample();
                r.quarter = format!("2026-Q{q}").parse().unwrap();
                r
            })
            .collect();
        domain::report::yearly(2026, quarters, "2026-11-29T00:00:00Z".parse().unwrap())
    }

    fn sample() -> QuarterlyReport {
        use domain::compliance::Tenure;
        use domain::report::{BranchInput, ChiefInput, Resolved, TownInput, quarterly};
        use domain::scoring::ScoreFormula;
        use std::collections::BTreeMap;
        let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let chief = |id: i64, name: &str, branch: Option<i64>| ChiefInput {
            chief_id: id,
            code: format!("HZ{id:03}"),
            name: name.into(),
            level: "village".into(),
            village: Some("大村村".into()),
            branch_id: branch,
            tenure: Tenure::since(day),
            exemptions: vec![],
            valid_by_week: BTreeMap::new(),
            valid_patrols: 0,
            length_m: 0.0,
            duration_s: 0.0,
            issues_found: 0,
            village_issues: Resolved::default(),
        };
        quarterly(
            "2026-Q3".parse().unwrap(),
            TownInput {
                town_id: 1,
                code: "530127104".into(),
                name: "牛栏江镇".into(),
            },
            vec![chief(1, "张建国", Some(10)), chief(2, "李卫东", None)],
            vec![BranchInput {
                branch_id: 10,
                code: "B01".into(),
                name: "大村村党总支".into(),
                village: Some("大村村".into()),
                village_issues: Resolved::default(),
            }],
            Resolved::default(),
            ScoreFormula::default(),
            "2026-11-29T00:00:00Z".parse().unwrap(),
        )
    }
}
