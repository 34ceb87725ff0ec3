//! The quarterly assessment (季度考核) as a PDF for party-branch reviews:
//! title with town and quarter, the town summary, one table per party branch
//! of its chiefs, and a bar chart of compliance rates.
//!
//! [`render`] is pure (report + font bytes in, PDF bytes out); typst lays the
//! pages out from `report.typ` and embeds a subset of the CJK font. The only
//! I/O is [`load_font`], which reads the font from `RIVERCHIEF_PDF_FONT` or
//! the Debian package `fonts-wqy-microhei`.

use domain::report::{ChiefRow, QuarterlyReport, rate_text};
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
        if c.level == "town" {
            "镇级"
        } else {
            "村级"
        }
        .to_owned(),
        f.required.to_string(),
        f.compliant.to_string(),
        f.exempt.to_string(),
        f.missed.to_string(),
        rate_text(f.rate),
        format!("{:.2}", c.score.total),
        c.rank.to_string(),
    ]
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

#[derive(Serialize)]
struct View {
    font: String,
    title: String,
    subtitle: String,
    footer: String,
    summary: Vec<[String; 2]>,
    headers: [&'static str; 9],
    branches: Vec<Branch>,
    bars: Vec<Bar>,
    formula: String,
}

fn view(report: &QuarterlyReport, font_family: String) -> View {
    let t = &report.town;
    let f = &t.figures;
    let weeks = &report.weeks;
    let span = match (weeks.first(), weeks.last()) {
        (Some(a), Some(b)) => format!("{a} 至 {b}，共 {} 周", weeks.len()),
        _ => String::new(),
    };
    let summary = vec![
        ["河长人数".to_owned(), t.chiefs.to_string()],
        ["党支部数".to_owned(), t.branches.to_string()],
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
            t.mean_score.map_or("—".into(), |s| format!("{s:.2}")),
        ],
        ["待完成周数".to_owned(), f.pending.to_string()],
    ];
    let mut branches: Vec<Branch> = report
        .branches
        .iter()
        .map(|b| Branch {
            name: b.name.clone(),
            line: format!(
                "河长 {} 人 · 达标率 {} · 得分 {:.2} · 党支部排名 {}",
                b.chiefs,
                rate_text(b.figures.rate),
                b.score.total,
                b.rank
            ),
            rows: report
                .chiefs
                .iter()
                .filter(|c| c.branch_id == Some(b.branch_id))
                .map(chief_cells)
                .collect(),
        })
        .collect();
    let unbranched: Vec<Vec<String>> = report
        .chiefs
        .iter()
        .filter(|c| {
            c.branch_id
                .is_none_or(|id| !report.branches.iter().any(|b| b.branch_id == id))
        })
        .map(chief_cells)
        .collect();
    if !unbranched.is_empty() {
        branches.push(Branch {
            name: "未分配党支部".to_owned(),
            line: format!("河长 {} 人", unbranched.len()),
            rows: unbranched,
        });
    }
    View {
        font: font_family,
        title: format!("{} 河长制工作季度考核", t.name),
        subtitle: format!(
            "{}年第{}季度（{}）· {span}",
            report.quarter.year(),
            report.quarter.q(),
            report.quarter
        ),
        footer: format!(
            "{} {} · 生成于 {}",
            t.name,
            report.quarter,
            domain::time::format_cst(report.generated_at)
        ),
        summary,
        headers: CHIEF_HEADERS,
        branches,
        bars: report
            .chiefs
            .iter()
            .map(|c| Bar {
                name: c.name.clone(),
                rate: c.figures.rate.map(|r| r.clamp(0.0, 1.0)),
                label: rate_text(c.figures.rate),
            })
            .collect(),
        formula: formula_text(&report.formula),
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

/// Typesets the report with the given font (TTF, OTF or a TTC collection;
/// it needs CJK glyphs) and returns the PDF, the font subset-embedded.
pub fn render(report: &QuarterlyReport, font: &[u8]) -> Result<Vec<u8>, PdfError> {
    let fonts: Vec<Font> = Font::iter(Bytes::new(font.to_vec())).collect();
    let family = fonts
        .first()
        .map(|f| f.info().family.clone())
        .ok_or_else(|| PdfError::NotAFont {
            path: "(the font given)".to_owned(),
        })?;
    let data = serde_json::to_string(&view(report, family))
        .map_err(|e| PdfError::Typeset(e.to_string()))?;
    let engine = TypstEngine::builder()
        .main_file(TEMPLATE)
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
