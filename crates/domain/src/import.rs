//! The town import document (DESIGN.md, "Town import document"): parsing and
//! validation. A document that passes [`validate`] is internally consistent:
//! every code is unique, every reference names something in the document and
//! every reach is a plausible WGS-84 line. Storage then applies it by code.

use chrono::NaiveDate;
use geo::{Coord, LineString, MultiLineString};
use serde::Deserialize;
use std::collections::HashSet;

use crate::password::{self, Weakness};
use crate::text::{self, TextError, TextKind};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TownDocument {
    pub town: TownIn,
    #[serde(default)]
    pub villages: Vec<VillageIn>,
    #[serde(default)]
    pub branches: Vec<BranchIn>,
    #[serde(default)]
    pub rivers: Vec<RiverIn>,
    #[serde(default)]
    pub reaches: Option<serde_json::Value>,
    #[serde(default)]
    pub chiefs: Vec<ChiefIn>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TownIn {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VillageIn {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchIn {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub village: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiverIn {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChiefIn {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    pub level: ChiefLevel,
    #[serde(default)]
    pub village: Option<String>,
    #[serde(default)]
    pub branch: Option<String>,
    pub appointed_on: NaiveDate,
    #[serde(default)]
    pub left_on: Option<NaiveDate>,
    #[serde(default)]
    pub reaches: Vec<String>,
    #[serde(default)]
    pub login: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}

/// A chief's level: the town chief (大河长) or a village chief (小河长).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChiefLevel {
    Town,
    Village,
}

impl ChiefLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Town => "town",
            Self::Village => "village",
        }
    }
}

/// A reach of the document, its geometry checked.
#[derive(Debug, Clone)]
pub struct ReachIn {
    pub code: String,
    pub name: String,
    pub river: String,
    pub village: Option<String>,
    pub geometry: MultiLineString<f64>,
}

/// A validated document: what storage applies.
#[derive(Debug, Clone)]
pub struct ValidTown {
    pub town: TownIn,
    pub villages: Vec<VillageIn>,
    pub branches: Vec<BranchIn>,
    pub rivers: Vec<RiverIn>,
    pub reaches: Vec<ReachIn>,
    pub chiefs: Vec<ChiefIn>,
}

/// Why a document was refused: the JSON path of the bad field and a message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ImportError {
    pub field: String,
    pub message: String,
    /// Set when the field is a password the policy refuses (its own
    /// error code, `weak_password`, for the API).
    pub weak_password: Option<Weakness>,
    /// Set when the field broke a limit on typed text (its own error code).
    pub text: Option<TextError>,
}

impl ImportError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            weak_password: None,
            text: None,
        }
    }

    fn weak_password(field: &str, weakness: Weakness) -> Self {
        Self {
            weak_password: Some(weakness),
            ..Self::new(field, weakness.message())
        }
    }
}

impl From<TextError> for ImportError {
    fn from(e: TextError) -> Self {
        Self {
            field: e.field().to_owned(),
            message: e.to_string(),
            weak_password: None,
            text: Some(e),
        }
    }
}

/// Parses and validates a document from JSON bytes.
pub fn parse(bytes: &[u8]) -> Result<ValidTown, ImportError> {
    let doc: TownDocument = serde_json::from_slice(bytes).map_err(|e| {
        ImportError::new(
            "document",
            format!(
                "not a valid town document: {e} (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })?;
    validate(doc)
}

/// Checks codes, references, dates and geometry; see the module doc.
pub fn validate(doc: TownDocument) -> Result<ValidTown, ImportError> {
    check_code("town.code", &doc.town.code, 9)?;
    check_name("town.name", &doc.town.name)?;

    let mut villages = HashSet::new();
    for (i, v) in doc.villages.iter().enumerate() {
        let field = format!("villages[{i}].code");
        check_village_code(&field, &doc.town.code, &v.code)?;
        check_name(&format!("villages[{i}].name"), &v.name)?;
        unique(&mut villages, &v.code, &field)?;
    }

    let mut branches = HashSet::new();
    for (i, b) in doc.branches.iter().enumerate() {
        let field = format!("branches[{i}].code");
        check_short_code(&field, &b.code)?;
        check_name(&format!("branches[{i}].name"), &b.name)?;
        unique(&mut branches, &b.code, &field)?;
        check_ref(
            &villages,
            b.village.as_deref(),
            &format!("branches[{i}].village"),
            "village",
        )?;
    }

    let mut rivers = HashSet::new();
    for (i, r) in doc.rivers.iter().enumerate() {
        let field = format!("rivers[{i}].code");
        check_short_code(&field, &r.code)?;
        check_name(&format!("rivers[{i}].name"), &r.name)?;
        unique(&mut rivers, &r.code, &field)?;
    }

    let reaches = match &doc.reaches {
        None => Vec::new(),
        Some(fc) => parse_reaches(fc, &rivers, &villages)?,
    };
    let reach_codes: HashSet<&str> = reaches.iter().map(|r| r.code.as_str()).collect();

    let mut chiefs = HashSet::new();
    let mut logins = HashSet::new();
    for (i, c) in doc.chiefs.iter().enumerate() {
        check_chief(i, c, &villages, &branches, &reach_codes)?;
        unique(&mut chiefs, &c.code, &format!("chiefs[{i}].code"))?;
        if let Some(login) = &c.login {
            unique(&mut logins, login, &format!("chiefs[{i}].login"))?;
        }
    }

    Ok(ValidTown {
        town: doc.town,
        villages: doc.villages,
        branches: doc.branches,
        rivers: doc.rivers,
        reaches,
        chiefs: doc.chiefs,
    })
}

fn check_chief(
    i: usize,
    c: &ChiefIn,
    villages: &HashSet<String>,
    branches: &HashSet<String>,
    reaches: &HashSet<&str>,
) -> Result<(), ImportError> {
    let at = |f: &str| format!("chiefs[{i}].{f}");
    check_short_code(&at("code"), &c.code)?;
    check_name(&at("name"), &c.name)?;
    check_phone(&at("phone"), c.phone.as_deref())?;
    check_level_village(c.level, c.village.is_some())
        .map_err(|m| ImportError::new(at("village"), m))?;
    check_ref(villages, c.village.as_deref(), &at("village"), "village")?;
    check_ref(branches, c.branch.as_deref(), &at("branch"), "branch")?;
    check_tenure(c.appointed_on, c.left_on).map_err(|m| ImportError::new(at("left_on"), m))?;
    for (j, code) in c.reaches.iter().enumerate() {
        if !reaches.contains(code.as_str()) {
            return Err(ImportError::new(
                format!("chiefs[{i}].reaches[{j}]"),
                format!("unknown reach code {code:?}"),
            ));
        }
    }
    if c.level == ChiefLevel::Village && c.reaches.is_empty() {
        return Err(ImportError::new(
            at("reaches"),
            "a village chief needs at least one reach",
        ));
    }
    check_credentials(
        &at("login"),
        &at("password"),
        c.login.as_deref(),
        c.password.as_deref(),
    )
}

/// A village chief belongs to a village; the town chief to none.
pub fn check_level_village(level: ChiefLevel, has_village: bool) -> Result<(), &'static str> {
    match (level, has_village) {
        (ChiefLevel::Village, false) => Err("a village chief needs a village"),
        (ChiefLevel::Town, true) => Err("a town chief has no village"),
        _ => Ok(()),
    }
}

/// A term of office ends (inclusive) no earlier than it starts.
pub fn check_tenure(
    appointed_on: NaiveDate,
    left_on: Option<NaiveDate>,
) -> Result<(), &'static str> {
    match left_on {
        Some(left) if left < appointed_on => Err("left_on is before appointed_on"),
        _ => Ok(()),
    }
}

/// A login and its password come together, each well formed.
pub fn check_credentials(
    login_field: &str,
    password_field: &str,
    login: Option<&str>,
    password: Option<&str>,
) -> Result<(), ImportError> {
    match (login, password) {
        (Some(_), None) => Err(ImportError::new(password_field, "a login needs a password")),
        (None, Some(_)) => Err(ImportError::new(login_field, "a password needs a login")),
        (Some(login), Some(password)) => {
            check_login(login_field, login)?;
            check_password(password_field, Some(login), password)
        }
        (None, None) => Ok(()),
    }
}

/// Logins: 3–64 characters of letters, digits, `.`, `_`, `-`.
pub fn check_login(field: &str, login: &str) -> Result<(), ImportError> {
    let ok = (3..=64).contains(&login.chars().count())
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ImportError::new(
            field,
            "a login is 3 to 64 letters, digits, '.', '_' or '-'",
        ))
    }
}

/// Passwords follow [`crate::password`]'s policy; `login` is the account's.
pub fn check_password(field: &str, login: Option<&str>, password: &str) -> Result<(), ImportError> {
    password::check(login, password).map_err(|weakness| ImportError::weak_password(field, weakness))
}

fn parse_reaches(
    fc: &serde_json::Value,
    rivers: &HashSet<String>,
    villages: &HashSet<String>,
) -> Result<Vec<ReachIn>, ImportError> {
    if fc.get("type").and_then(|t| t.as_str()) != Some("FeatureCollection") {
        return Err(ImportError::new(
            "reaches",
            "must be a GeoJSON FeatureCollection",
        ));
    }
    let features = fc
        .get("features")
        .and_then(|f| f.as_array())
        .ok_or_else(|| ImportError::new("reaches.features", "must be an array"))?;
    let mut codes = HashSet::new();
    let mut out = Vec::with_capacity(features.len());
    for (i, f) in features.iter().enumerate() {
        let at = |s: &str| format!("reaches.features[{i}].{s}");
        let prop = |key: &str| -> Option<String> {
            f.get("properties")?.get(key)?.as_str().map(str::to_owned)
        };
        let code =
            prop("code").ok_or_else(|| ImportError::new(at("properties.code"), "missing"))?;
        check_short_code(&at("properties.code"), &code)?;
        unique(&mut codes, &code, &at("properties.code"))?;
        let name =
            prop("name").ok_or_else(|| ImportError::new(at("properties.name"), "missing"))?;
        check_name(&at("properties.name"), &name)?;
        let river =
            prop("river").ok_or_else(|| ImportError::new(at("properties.river"), "missing"))?;
        check_ref(rivers, Some(&river), &at("properties.river"), "river")?;
        let village = prop("village");
        check_ref(
            villages,
            village.as_deref(),
            &at("properties.village"),
            "village",
        )?;
        let geometry = f
            .get("geometry")
            .ok_or_else(|| ImportError::new(at("geometry"), "missing"))?;
        let geometry = parse_lines(geometry).map_err(|m| ImportError::new(at("geometry"), m))?;
        out.push(ReachIn {
            code,
            name,
            river,
            village,
            geometry,
        });
    }
    Ok(out)
}

/// A GeoJSON LineString or MultiLineString as WGS-84 lon/lat lines.
pub fn parse_lines(geometry: &serde_json::Value) -> Result<MultiLineString<f64>, String> {
    let kind = geometry.get("type").and_then(|t| t.as_str()).unwrap_or("");
    let coords = geometry
        .get("coordinates")
        .and_then(|c| c.as_array())
        .ok_or("coordinates missing")?;
    let lines: Vec<&Vec<serde_json::Value>> = match kind {
        "LineString" => vec![coords],
        "MultiLineString" => coords
            .iter()
            .map(|l| {
                l.as_array()
                    .ok_or("each line must be an array of positions")
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(format!(
                "must be a LineString or MultiLineString, not {other:?}"
            ));
        }
    };
    if lines.is_empty() {
        return Err("has no lines".into());
    }
    lines
        .into_iter()
        .enumerate()
        .map(|(i, line)| parse_line(line).map_err(|m| format!("line {i}: {m}")))
        .collect::<Result<Vec<_>, _>>()
        .map(MultiLineString::new)
}

fn parse_line(positions: &[serde_json::Value]) -> Result<LineString<f64>, String> {
    if positions.len() < 2 {
        return Err("a line needs at least 2 positions".into());
    }
    let coords = positions
        .iter()
        .enumerate()
        .map(|(j, p)| parse_position(p).map_err(|m| format!("position {j}: {m}")))
        .collect::<Result<Vec<Coord<f64>>, _>>()?;
    if coords.windows(2).all(|w| w[0] == w[1]) {
        return Err("all positions are the same point".into());
    }
    Ok(LineString::new(coords))
}

fn parse_position(p: &serde_json::Value) -> Result<Coord<f64>, String> {
    let a = p.as_array().ok_or("must be [longitude, latitude]")?;
    let (Some(x), Some(y)) = (
        a.first().and_then(|v| v.as_f64()),
        a.get(1).and_then(|v| v.as_f64()),
    ) else {
        return Err("must be [longitude, latitude] numbers".into());
    };
    check_lon_lat(x, y)?;
    Ok(Coord { x, y })
}

/// WGS-84 degrees: longitude first. Projected metres (e.g. EPSG:3857) are
/// far outside these ranges, which is how they are caught.
pub fn check_lon_lat(lon: f64, lat: f64) -> Result<(), String> {
    if !lon.is_finite() || !lat.is_finite() {
        return Err("coordinates must be finite numbers".into());
    }
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        return Err(format!(
            "[{lon}, {lat}] is not a WGS-84 longitude/latitude (EPSG:4326, longitude first)"
        ));
    }
    Ok(())
}

/// A village's 12-digit code, which starts with its town's 9-digit code.
pub fn check_village_code(field: &str, town_code: &str, code: &str) -> Result<(), ImportError> {
    check_code(field, code, 12)?;
    if code.starts_with(town_code) {
        Ok(())
    } else {
        Err(ImportError::new(
            field,
            format!("village code {code} does not start with the town code {town_code}"),
        ))
    }
}

/// An administrative code of exactly `digits` digits (town 9, village 12).
pub fn check_code(field: &str, code: &str, digits: usize) -> Result<(), ImportError> {
    if code.len() == digits && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ImportError::new(
            field,
            format!("must be a {digits}-digit administrative code, not {code:?}"),
        ))
    }
}

/// A local code (branch, river, reach, chief): 1–64 safe characters.
pub fn check_short_code(field: &str, code: &str) -> Result<(), ImportError> {
    let ok = !code.is_empty()
        && code.len() <= 64
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ImportError::new(
            field,
            format!("must be 1 to 64 letters, digits, '-', '_' or '.', not {code:?}"),
        ))
    }
}

/// A display name: 1–64 characters after trimming ([`TextKind::Name`]).
pub fn check_name(field: &str, name: &str) -> Result<(), ImportError> {
    if text::clean(field, TextKind::Name, name)?.is_empty() {
        return Err(ImportError::new(field, "must not be empty"));
    }
    Ok(())
}

/// An optional phone number ([`TextKind::Phone`]).
pub fn check_phone(field: &str, phone: Option<&str>) -> Result<(), ImportError> {
    text::clean_optional(field, TextKind::Phone, phone)?;
    Ok(())
}

fn unique(seen: &mut HashSet<String>, code: &str, field: &str) -> Result<(), ImportError> {
    if seen.insert(code.to_owned()) {
        Ok(())
    } else {
        Err(ImportError::new(
            field,
            format!("{code:?} appears twice in the document"),
        ))
    }
}

fn check_ref(
    known: &HashSet<String>,
    code: Option<&str>,
    field: &str,
    what: &str,
) -> Result<(), ImportError> {
    match code {
        Some(c) if !known.contains(c) => Err(ImportError::new(
            field,
            format!("unknown {what} code {c:?}: it must be listed in the document"),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn example() -> serde_json::Value {
        json!({
          "town": {"code": "530127104", "name": "牛栏江镇"},
          "villages": [{"code": "530127104201", "name": "大村村"}],
          "branches": [{"code": "B01", "name": "大村村党总支", "village": "530127104201"}],
          "rivers": [{"code": "NLJ", "name": "牛栏江"}],
          "reaches": {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[103.1, 25.3], [103.11, 25.31]]},
             "properties": {"code": "NLJ-01", "name": "牛栏江大村段", "river": "NLJ", "village": "530127104201"}}]},
          "chiefs": [{"code": "HZ001", "name": "张三", "phone": "13800000000", "level": "village",
                      "village": "530127104201", "branch": "B01", "appointed_on": "2026-01-01",
                      "reaches": ["NLJ-01"], "login": "hz001", "password": "initial-secret"}]
        })
    }

    fn check(doc: serde_json::Value) -> Result<ValidTown, ImportError> {
        parse(doc.to_string().as_bytes())
    }

    #[test]
    fn chief_passwords_follow_the_password_policy() {
        for (password, weakness) in [
            ("        ", Weakness::OnlySpaces),
            ("12345678", Weakness::TooShort),
            ("QQ123456789", Weakness::Common),
        ] {
            let mut doc = example();
            doc["chiefs"][0]["password"] = json!(password);
            let err = check(doc).unwrap_err();
            assert_eq!(err.field, "chiefs[0].password");
            assert_eq!(err.weak_password, Some(weakness), "{password:?}");
        }
        let mut doc = example();
        doc["chiefs"][0]["login"] = json!("hz001-dacun");
        doc["chiefs"][0]["password"] = json!("HZ001-DaCun");
        assert_eq!(
            check(doc).unwrap_err().weak_password,
            Some(Weakness::SameAsLogin)
        );
    }

    #[test]
    fn the_design_example_is_valid() {
        let town = check(example()).unwrap();
        assert_eq!(town.reaches.len(), 1);
        assert_eq!(town.reaches[0].geometry.0[0].0.len(), 2);
    }

    #[test]
    fn bad_documents_name_the_field() {
        let cases = [
            (
                "chiefs[0].village",
                "/chiefs/0/village",
                json!("530127104999"),
            ),
            ("chiefs[0].branch", "/chiefs/0/branch", json!("B99")),
            ("chiefs[0].reaches[0]", "/chiefs/0/reaches", json!(["X"])),
            (
                "branches[0].village",
                "/branches/0/village",
                json!("530127104202"),
            ),
            (
                "reaches.features[0].properties.river",
                "/reaches/features/0/properties/river",
                json!("NOPE"),
            ),
            (
                "reaches.features[0].geometry",
                "/reaches/features/0/geometry/coordinates",
                json!([[25.3, 103.1], [25.31, 103.11]]),
            ),
            (
                "reaches.features[0].geometry",
                "/reaches/features/0/geometry/coordinates",
                json!([[103.1, 25.3]]),
            ),
            (
                "reaches.features[0].geometry",
                "/reaches/features/0/geometry/coordinates",
                json!([[11478000.0, 2910000.0], [11479000.0, 2911000.0]]),
            ),
            ("town.code", "/town/code", json!("5301")),
            (
                "villages[0].code",
                "/villages/0/code",
                json!("110101001001"),
            ),
            (
                "chiefs[0].left_on",
                "/chiefs/0/left_on",
                json!("2025-01-01"),
            ),
            ("chiefs[0].password", "/chiefs/0/password", json!("short")),
            ("document", "/chiefs/0/level", json!("county")),
        ];
        for (field, pointer, value) in cases {
            let mut doc = example();
            match doc.pointer_mut(pointer) {
                Some(slot) => *slot = value,
                None => {
                    let (parent, key) = pointer.rsplit_once('/').unwrap();
                    doc.pointer_mut(parent).unwrap()[key] = value;
                }
            }
            let err = check(doc).unwrap_err();
            assert_eq!(err.field, field, "{err}");
        }
    }
}
