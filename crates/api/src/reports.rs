//! The quarterly assessment report (季度考核) as JSON, CSV (UTF-8 with BOM,
//! for Excel on Chinese Windows), XLSX and PDF (with the cargo feature
//! `pdf`, through `report-pdf`), plus the per-chief drill-down.
//! Admins and assessors only.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use domain::compliance::WeekStatus;
pub use domain::report::rate_text;
use domain::report::{Figures, QuarterlyReport, YearChiefRow, YearlyReport};
use domain::time::{Quarter, Year};
use serde::Deserialize;
use store::auth::Role;
use utoipa::IntoParams;

use crate::auth::AuthUser;
use crate::context::ApiContext;
use crate::error::{ApiError, ApiPath, ApiQuery, ApiResult};

#[derive(Debug, Deserialize, IntoParams)]
pub struct ReportQuery {
    /// e.g. `2026-Q4`.
    pub quarter: String,
    /// `json` (default), `csv`, `xlsx` or `pdf`.
    pub format: Option<String>,
    /// For admins of several towns.
    pub town_id: Option<i64>,
}

fn parse_quarter(s: &str) -> ApiResult<Quarter> {
    s.parse::<Quarter>().map_err(|e| ApiError::BadRequest {
        code: "invalid_quarter",
        message: e.to_string(),
    })
}

pub(crate) async fn town_for(
    ctx: &ApiContext,
    auth: &AuthUser,
    asked: Option<i64>,
) -> ApiResult<i64> {
    let scoped = crate::roster::RosterFilter {
        town_id: asked,
        ..Default::default()
    }
    .town(auth)?;
    if let Some(t) = scoped {
        return Ok(t);
    }
    let towns = store::roster::towns(&ctx.pool, None).await?;
    match towns.as_slice() {
        [one] => Ok(one.id),
        [] => Err(ApiError::not_found("town")),
        _ => Err(ApiError::BadRequest {
            code: "town_required",
            message: "several towns: name one with ?town_id=".into(),
        }),
    }
}

/// The asked format (default json), if it is one of ours.
fn report_format(asked: Option<&str>) -> ApiResult<&str> {
    let format = asked.unwrap_or("json");
    if !matches!(format, "json" | "csv" | "xlsx" | "pdf") {
        return Err(ApiError::BadRequest {
            code: "invalid_format",
            message: format!("format `{format}`: expected json, csv, xlsx or pdf"),
        });
    }
    Ok(format)
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(e.to_string())
}

/// A report file as a download: `name.format` with its content type.
fn attachment(name: &str, format: &str, bytes: Vec<u8>) -> Response {
    let content_type = match format {
        "csv" => "text/csv; charset=utf-8",
        "xlsx" => XLSX_TYPE,
        _ => "application/pdf",
    };
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.{format}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// The quarterly assessment per chief, per party branch and for the town.
#[utoipa::path(get, path = "/api/v1/reports/quarterly", tag = "reports", params(ReportQuery),
    responses((status = 200, description = "JSON, CSV, XLSX or PDF"), (status = 400), (status = 401), (status = 403),
        (status = 503, description = "PDF asked but its font is not installed (fonts-wqy-microhei)")),
    security(("bearer" = [])))]
pub async fn quarterly(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    auth.require(&[Role::Admin, Role::Assessor])?;
    let quarter = parse_quarter(&q.quarter)?;
    let format = report_format(q.format.as_deref())?;
    let town_id = town_for(&ctx, &auth, q.town_id).await?;
    let report = store::reports::quarterly(&ctx.pool, town_id, quarter, Utc::now()).await?;
    let name = format!("riverchief-{quarter}");
    let bytes = match format {
        "csv" => to_csv(&report).map_err(internal)?,
        "xlsx" => to_xlsx(&report).map_err(internal)?,
        "pdf" => pdf(&ctx, Assessment::Quarter(report)).await?,
        _ => return Ok(Json(report).into_response()),
    };
    Ok(attachment(&name, format, bytes))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ChiefQuery {
    /// e.g. `2026-Q4`.
    pub quarter: String,
}

/// One chief's quarter week by week, with the patrols behind each status.
#[utoipa::path(get, path = "/api/v1/reports/quarterly/chiefs/{id}", tag = "reports",
    params(("id" = i64, Path), ChiefQuery),
    responses((status = 200, body = store::reports::ChiefQuarter), (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
pub async fn chief(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ChiefQuery>,
) -> ApiResult<Json<store::reports::ChiefQuarter>> {
    auth.require(&[Role::Admin, Role::Assessor])?;
    let quarter = parse_quarter(&q.quarter)?;
    let detail = store::reports::chief_quarter(&ctx.pool, id, quarter, Utc::now()).await?;
    auth.check_town(detail.town_id, "chief")?;
    Ok(Json(detail))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct YearQuery {
    /// e.g. `2026` (the ISO week-year: its quarters' weeks).
    pub year: String,
    /// `json` (default), `csv`, `xlsx` or `pdf`.
    pub format: Option<String>,
    /// For admins of several towns.
    pub town_id: Option<i64>,
}

/// The year's assessment: the four quarters side by side per chief and per
/// party branch, and the year's rate = compliant / required weeks over the year.
#[utoipa::path(get, path = "/api/v1/reports/yearly", tag = "reports", params(YearQuery),
    responses((status = 200, description = "JSON, CSV, XLSX or PDF"), (status = 400), (status = 401), (status = 403),
        (status = 503, description = "PDF asked but its font is not installed (fonts-wqy-microhei)")),
    security(("bearer" = [])))]
pub async fn yearly(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> ApiResult<Response> {
    auth.require(&[Role::Admin, Role::Assessor])?;
    let year = q
        .year
        .trim()
        .parse::<i32>()
        .ok()
        .and_then(|y| Year::new(y).ok())
        .ok_or_else(|| ApiError::BadRequest {
            code: "invalid_year",
            message: format!("year `{}`: expected a year such as 2026", q.year),
        })?;
    let format = report_format(q.format.as_deref())?;
    let town_id = town_for(&ctx, &auth, q.town_id).await?;
    let report = store::reports::yearly(&ctx.pool, town_id, year, Utc::now()).await?;
    let name = format!("riverchief-{}", year.get());
    let bytes = match format {
        "csv" => year_to_csv(&report).map_err(internal)?,
        "xlsx" => year_to_xlsx(&report).map_err(internal)?,
        "pdf" => pdf(&ctx, Assessment::Year(report)).await?,
        _ => return Ok(Json(report).into_response()),
    };
    Ok(attachment(&name, format, bytes))
}

/// Column headers of the year's chief sheet / CSV (the quarters' rates follow
/// the first four columns).
fn year_headers(report: &YearlyReport, first: &[&str]) -> Vec<String> {
    let mut h: Vec<String> = first.iter().map(|s| (*s).to_owned()).collect();
    h.extend(report.quarters.iter().map(|q| format!("{q}达标率")));
    h.extend(
        [
            "在任周数",
            "应巡周数",
            "达标周数",
            "免巡周数",
            "未巡周数",
            "全年达标率",
            "有效巡河次数",
            "巡河里程(km)",
            "巡河时长(h)",
            "发现问题",
            "解决问题",
            "按期解决",
            "得分",
            "排名",
        ]
        .map(str::to_owned),
    );
    h
}

fn year_chief_cells(report: &YearlyReport, c: &YearChiefRow) -> Vec<Cell> {
    let mut row = vec![
        Cell::Text(c.name.clone()),
        Cell::Text(level_zh(&c.level).to_owned()),
        Cell::Text(c.village.clone().unwrap_or_default()),
        Cell::Text(c.branch.clone().unwrap_or_default()),
    ];
    row.extend(quarter_rate_cells(report, &c.quarters));
    row.extend(figure_cells(&c.figures));
    row.push(Cell::Num(c.score.total));
    row.push(Cell::Int(i64::from(c.rank)));
    row
}

/// The year's chief rows as CSV: UTF-8 with a BOM, Chinese headers.
pub fn year_to_csv(report: &YearlyReport) -> Result<Vec<u8>, csv::Error> {
    let mut out = "\u{FEFF}".as_bytes().to_vec();
    {
        let mut w = csv_writer(&mut out);
        write_safe_record(
            &mut w,
            year_headers(report, &["河长", "级别", "村", "党支部"]),
        )?;
        for c in &report.chiefs {
            write_safe_record(&mut w, csv_cells(year_chief_cells(report, c)))?;
        }
        w.flush()?;
    }
    Ok(out)
}

/// A CSV writer that quotes every cell that is not a number, as OWASP
/// advises for exports opened in spreadsheets.
fn csv_writer(out: &mut Vec<u8>) -> csv::Writer<&mut Vec<u8>> {
    csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::NonNumeric)
        .from_writer(out)
}

/// Writes one row with every cell through [`domain::report::spreadsheet_text`]:
/// names are typed by people and must not run as formulas.
fn write_safe_record<S: AsRef<str>>(
    w: &mut csv::Writer<&mut Vec<u8>>,
    cells: impl IntoIterator<Item = S>,
) -> csv::Result<()> {
    w.write_record(
        cells
            .into_iter()
            .map(|c| domain::report::spreadsheet_text(c.as_ref()).into_owned()),
    )
}

/// A cell of the CSV and XLSX exports: what it is, so a spreadsheet gets
/// numbers it can sum and sort (rates as percentages) and the CSV the same
/// text as before.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Text(String),
    Int(i64),
    /// Two decimals: km, hours, scores.
    Num(f64),
    /// A rate in 0..=1, or none ("—") when nothing was required.
    Rate(Option<f64>),
}

impl Cell {
    /// The cell as CSV text (a rate as `87.5%`).
    fn text(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Num(x) => format!("{x:.2}"),
            Cell::Rate(r) => rate_text(*r),
        }
    }

    fn write(
        &self,
        sheet: &mut rust_xlsxwriter::Worksheet,
        row: u32,
        col: u16,
        formats: &CellFormats,
    ) -> Result<(), rust_xlsxwriter::XlsxError> {
        match self {
            Cell::Text(t) => sheet.write(row, col, t.as_str())?,
            Cell::Int(n) => sheet.write(row, col, *n as f64)?,
            Cell::Num(x) => sheet.write_number_with_format(row, col, *x, &formats.decimal)?,
            Cell::Rate(Some(r)) => {
                sheet.write_number_with_format(row, col, *r, &formats.percent)?
            }
            Cell::Rate(None) => sheet.write(row, col, "—")?,
        };
        Ok(())
    }
}

/// Number formats of the workbooks.
struct CellFormats {
    decimal: rust_xlsxwriter::Format,
    percent: rust_xlsxwriter::Format,
}

impl CellFormats {
    fn new() -> Self {
        Self {
            decimal: rust_xlsxwriter::Format::new().set_num_format("0.00"),
            percent: rust_xlsxwriter::Format::new().set_num_format("0.0%"),
        }
    }
}

fn write_row(
    sheet: &mut rust_xlsxwriter::Worksheet,
    row: u32,
    first_col: u16,
    cells: impl IntoIterator<Item = Cell>,
    formats: &CellFormats,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    for (i, cell) in cells.into_iter().enumerate() {
        cell.write(sheet, row, first_col + i as u16, formats)?;
    }
    Ok(())
}

fn csv_cells(cells: impl IntoIterator<Item = Cell>) -> Vec<String> {
    cells.into_iter().map(|c| c.text()).collect()
}

/// A year's quarter rates as cells ("—" for a quarter the row was not in).
fn quarter_rate_cells(
    report: &YearlyReport,
    by_quarter: &std::collections::BTreeMap<domain::time::Quarter, Figures>,
) -> Vec<Cell> {
    report
        .quarters
        .iter()
        .map(|q| Cell::Rate(by_quarter.get(q).and_then(|f| f.rate)))
        .collect()
}

/// The year as a workbook: 镇级河长, 村级河长, 党支部 (quarters side by side).
pub fn year_to_xlsx(report: &YearlyReport) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::Workbook;
    let mut book = Workbook::new();
    let head = header_format();
    let formats = CellFormats::new();
    let chief_headers = year_headers(report, &["河长", "级别", "村", "党支部"]);
    for (level, title) in [("town", "镇级河长"), ("village", "村级河长")] {
        let sheet = book.add_worksheet().set_name(title)?;
        for (i, h) in chief_headers.iter().enumerate() {
            sheet.write_with_format(0, i as u16, h.as_str(), &head)?;
            sheet.set_column_width(i as u16, if i < 4 { 16 } else { 12 })?;
        }
        sheet.set_freeze_panes(1, 0)?;
        let chiefs = report.chiefs.iter().filter(|c| c.level == level);
        for (r, c) in chiefs.enumerate() {
            write_row(
                sheet,
                r as u32 + 1,
                0,
                year_chief_cells(report, c),
                &formats,
            )?;
        }
    }
    let sheet = book.add_worksheet().set_name("党支部")?;
    let headers = year_headers(report, &["党支部", "村", "河长人数"]);
    for (i, h) in headers.iter().enumerate() {
        sheet.write_with_format(0, i as u16, h.as_str(), &head)?;
        sheet.set_column_width(i as u16, if i < 2 { 18 } else { 12 })?;
    }
    sheet.set_freeze_panes(1, 0)?;
    for (r, b) in report.branches.iter().enumerate() {
        let mut row = vec![
            Cell::Text(b.name.clone()),
            Cell::Text(b.village.clone().unwrap_or_default()),
            Cell::Int(i64::from(b.chiefs)),
        ];
        row.extend(quarter_rate_cells(report, &b.quarters));
        row.extend(figure_cells(&b.figures));
        row.push(Cell::Num(b.score.total));
        row.push(Cell::Int(i64::from(b.rank)));
        write_row(sheet, r as u32 + 1, 0, row, &formats)?;
    }
    book.save_to_buffer()
}

const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Bold, light blue, boxed: the header row of every sheet.
fn header_format() -> rust_xlsxwriter::Format {
    use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder};
    Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0xDDEBF7))
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Center)
}

/// Column headers of the chief sheet / CSV.
pub const CHIEF_HEADERS: [&str; 18] = [
    "河长",
    "级别",
    "村",
    "党支部",
    "在任周数",
    "应巡周数",
    "达标周数",
    "免巡周数",
    "未巡周数",
    "达标率",
    "有效巡河次数",
    "巡河里程(km)",
    "巡河时长(h)",
    "发现问题",
    "解决问题",
    "按期解决",
    "得分",
    "排名",
];

/// A report that can be typeset as PDF.
pub enum Assessment {
    Quarter(QuarterlyReport),
    Year(YearlyReport),
}

/// The report as PDF, typeset off the async threads (~0.1–0.3 s).
#[cfg(feature = "pdf")]
async fn pdf(ctx: &ApiContext, report: Assessment) -> ApiResult<Vec<u8>> {
    let font = ctx.config.pdf_font.clone();
    tokio::task::spawn_blocking(move || to_pdf(&report, font.as_deref()))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(pdf_error)
}

/// A typesetting failure is ours; a missing font is the installation's.
#[cfg(feature = "pdf")]
pub(crate) fn pdf_error(e: report_pdf::PdfError) -> ApiError {
    match e {
        report_pdf::PdfError::Typeset(detail) => ApiError::Internal(detail),
        missing => ApiError::NotInstalled {
            code: "pdf_font_missing",
            message: missing.to_string(),
        },
    }
}

#[cfg(not(feature = "pdf"))]
async fn pdf(_: &ApiContext, _: Assessment) -> ApiResult<Vec<u8>> {
    Err(ApiError::unprocessable(
        "format_not_supported",
        "this server was built without PDF support (cargo feature `pdf`): use csv or xlsx",
    ))
}

/// The report as PDF with the font at `font` (default: `$RIVERCHIEF_PDF_FONT`,
/// else Debian's fonts-wqy-microhei).
#[cfg(feature = "pdf")]
pub fn to_pdf(
    report: &Assessment,
    font: Option<&std::path::Path>,
) -> Result<Vec<u8>, report_pdf::PdfError> {
    let font = report_pdf::load_font(font)?;
    match report {
        Assessment::Quarter(q) => report_pdf::render(q, &font),
        Assessment::Year(y) => report_pdf::render_year(y, &font),
    }
}

fn level_zh(level: &str) -> &'static str {
    if level == "town" { "镇级" } else { "村级" }
}

fn figure_cells(f: &Figures) -> Vec<Cell> {
    let int = |n: u32| Cell::Int(i64::from(n));
    vec![
        int(f.in_office),
        int(f.required),
        int(f.compliant),
        int(f.exempt),
        int(f.missed),
        Cell::Rate(f.rate),
        int(f.valid_patrols),
        Cell::Num(f.km),
        Cell::Num(f.hours),
        int(f.issues_found),
        int(f.resolved),
        int(f.resolved_on_time),
    ]
}

/// The chief rows as CSV: UTF-8 with a BOM, Chinese headers.
pub fn to_csv(report: &QuarterlyReport) -> Result<Vec<u8>, csv::Error> {
    let mut out = "\u{FEFF}".as_bytes().to_vec();
    {
        let mut w = csv_writer(&mut out);
        write_safe_record(&mut w, CHIEF_HEADERS)?;
        for c in &report.chiefs {
            let mut row = vec![
                c.name.clone(),
                level_zh(&c.level).to_owned(),
                c.village.clone().unwrap_or_default(),
                c.branch.clone().unwrap_or_default(),
            ];
            row.extend(csv_cells(figure_cells(&c.figures)));
            row.push(format!("{:.2}", c.score.total));
            row.push(c.rank.to_string());
            write_safe_record(&mut w, row)?;
        }
        w.flush()?;
    }
    Ok(out)
}

fn status_zh(s: WeekStatus) -> &'static str {
    match s {
        WeekStatus::NotInOffice => "未在任",
        WeekStatus::Compliant => "达标",
        WeekStatus::Exempt => "免巡",
        WeekStatus::Pending => "进行中",
        WeekStatus::Missed => "未巡",
    }
}

/// The report as a workbook: one sheet of chiefs per level (镇级河长,
/// 村级河长), 党支部, 汇总 and the 周明细 week matrix.
pub fn to_xlsx(report: &QuarterlyReport) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Workbook};
    let mut book = Workbook::new();
    let head = header_format();
    let formats = CellFormats::new();

    // One sheet per level (镇级河长, 村级河长); ranks stay town-wide.
    for (level, title) in [("town", "镇级河长"), ("village", "村级河长")] {
        let sheet = book.add_worksheet().set_name(title)?;
        for (i, h) in CHIEF_HEADERS.iter().enumerate() {
            sheet.write_with_format(0, i as u16, *h, &head)?;
            sheet.set_column_width(i as u16, if i < 4 { 16 } else { 11 })?;
        }
        sheet.set_freeze_panes(1, 0)?;
        let chiefs = report.chiefs.iter().filter(|c| c.level == level);
        for (r, c) in chiefs.enumerate() {
            let r = r as u32 + 1;
            sheet.write(r, 0, &c.name)?;
            sheet.write(r, 1, level_zh(&c.level))?;
            sheet.write(r, 2, c.village.as_deref().unwrap_or(""))?;
            sheet.write(r, 3, c.branch.as_deref().unwrap_or(""))?;
            write_row(sheet, r, 4, figure_cells(&c.figures), &formats)?;
            sheet.write_number_with_format(r, 16, c.score.total, &formats.decimal)?;
            sheet.write(r, 17, c.rank)?;
        }
    }

    let sheet = book.add_worksheet().set_name("党支部")?;
    let mut headers = vec!["党支部", "村", "河长人数"];
    headers.extend_from_slice(&CHIEF_HEADERS[4..]);
    for (i, h) in headers.iter().enumerate() {
        sheet.write_with_format(0, i as u16, *h, &head)?;
        sheet.set_column_width(i as u16, if i < 2 { 18 } else { 11 })?;
    }
    sheet.set_freeze_panes(1, 0)?;
    for (r, b) in report.branches.iter().enumerate() {
        let r = r as u32 + 1;
        sheet.write(r, 0, &b.name)?;
        sheet.write(r, 1, b.village.as_deref().unwrap_or(""))?;
        sheet.write(r, 2, b.chiefs)?;
        write_row(sheet, r, 3, figure_cells(&b.figures), &formats)?;
        sheet.write_number_with_format(r, 15, b.score.total, &formats.decimal)?;
        sheet.write(r, 16, b.rank)?;
    }

    let sheet = book.add_worksheet().set_name("汇总")?;
    let t = &report.town;
    let f = &t.figures;
    let int = |n: u32| Cell::Int(i64::from(n));
    let rows: Vec<(&str, Cell)> = vec![
        ("镇", Cell::Text(t.name.clone())),
        ("季度", Cell::Text(report.quarter.to_string())),
        ("周数", Cell::Int(report.weeks.len() as i64)),
        ("河长人数", int(t.chiefs)),
        ("党支部数", int(t.branches)),
        ("应巡周数", int(f.required)),
        ("达标周数", int(f.compliant)),
        ("免巡周数", int(f.exempt)),
        ("未巡周数", int(f.missed)),
        ("达标率", Cell::Rate(f.rate)),
        ("有效巡河次数", int(f.valid_patrols)),
        ("巡河里程(km)", Cell::Num(f.km)),
        ("巡河时长(h)", Cell::Num(f.hours)),
        ("发现问题", int(f.issues_found)),
        ("解决问题", int(f.resolved)),
        ("按期解决", int(f.resolved_on_time)),
        (
            "平均得分",
            t.mean_score
                .map_or_else(|| Cell::Text("—".into()), Cell::Num),
        ),
    ];
    sheet.write_with_format(0, 0, "项目", &head)?;
    sheet.write_with_format(0, 1, "数值", &head)?;
    sheet.set_column_width(0, 16)?;
    sheet.set_column_width(1, 20)?;
    sheet.set_freeze_panes(1, 0)?;
    for (r, (k, v)) in rows.iter().enumerate() {
        sheet.write(r as u32 + 1, 0, *k)?;
        v.write(sheet, r as u32 + 1, 1, &formats)?;
    }

    let sheet = book.add_worksheet().set_name("周明细")?;
    let colour = |s: WeekStatus| {
        let c = match s {
            WeekStatus::Compliant => 0xC6EFCE,
            WeekStatus::Missed => 0xFFC7CE,
            WeekStatus::Exempt => 0xD9D9D9,
            WeekStatus::Pending => 0xFFEB9C,
            WeekStatus::NotInOffice => 0xFFFFFF,
        };
        Format::new()
            .set_background_color(Color::RGB(c))
            .set_border(FormatBorder::Thin)
            .set_align(FormatAlign::Center)
    };
    sheet.write_with_format(0, 0, "河长", &head)?;
    sheet.set_column_width(0, 16)?;
    for (i, w) in report.weeks.iter().enumerate() {
        sheet.write_with_format(0, i as u16 + 1, w.to_string(), &head)?;
        sheet.set_column_width(i as u16 + 1, 10)?;
    }
    sheet.set_freeze_panes(1, 1)?;
    for (r, c) in report.chiefs.iter().enumerate() {
        let r = r as u32 + 1;
        sheet.write(r, 0, &c.name)?;
        for (i, w) in report.weeks.iter().enumerate() {
            if let Some(s) = c.weeks.get(w) {
                sheet.write_with_format(r, i as u16 + 1, status_zh(*s), &colour(*s))?;
            }
        }
    }
    book.save_to_buffer()
}
