//! Regencies (*kabupaten*) and cities (*kota*) that can join the platform.

use super::Violation;
use super::identifiers::RegencyCode;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
    strum::EnumString,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum RegencyKind {
    Kabupaten,
    Kota,
}

impl RegencyKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

/// A regency not yet known, to be added by configuration or by API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRegency {
    pub code: RegencyCode,
    pub name: String,
    pub kind: RegencyKind,
}

impl NewRegency {
    pub fn parse(
        code: &str,
        name: &str,
        kind: Option<RegencyKind>,
    ) -> Result<Self, Vec<Violation>> {
        let mut v = Vec::new();
        let code = RegencyCode::parse(code)
            .map_err(|e| v.push(Violation::new("code", e.to_string())))
            .ok();
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            v.push(Violation::new("name", "must be 1 to 100 characters"));
        }
        if kind.is_none() {
            v.push(Violation::new("kind", "must be kabupaten or kota"));
        }
        match (code, kind) {
            (Some(code), Some(kind)) if v.is_empty() => Ok(Self {
                code,
                name: name.to_string(),
                kind,
            }),
            _ => Err(v),
        }
    }
}

/// The 35 regencies and cities of Central Java (province 33), Kemendagri
/// codes, loaded by the first migration.
pub const CENTRAL_JAVA_CSV: &str = include_str!("../../data/regencies-jateng.csv");

/// Parses a `code,kind,name` CSV with a header line.
pub fn parse_csv(csv: &str) -> Result<Vec<NewRegency>, String> {
    csv.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            let mut cols = line.splitn(3, ',');
            let (code, kind, name) = (cols.next(), cols.next(), cols.next());
            match (code, kind, name) {
                (Some(code), Some(kind), Some(name)) => {
                    NewRegency::parse(code, name, RegencyKind::parse(kind.trim())).map_err(|v| {
                        format!("line {}: {}: {}", i + 2, v[0].field, v[0].description)
                    })
                }
                _ => Err(format!("line {}: expected code,kind,name", i + 2)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn central_java_has_thirty_five_regencies_and_cities() {
        let regencies = parse_csv(CENTRAL_JAVA_CSV).unwrap();
        assert_eq!(regencies.len(), 35);
        assert_eq!(
            regencies
                .iter()
                .filter(|r| r.kind == RegencyKind::Kota)
                .count(),
            6
        );
        assert!(regencies.iter().all(|r| r.code.province() == "33"));
    }

    #[test]
    fn a_malformed_line_is_reported_with_its_number() {
        let err = parse_csv("code,kind,name\n33.01,kabupaten,Cilacap\n3302,kabupaten,Banyumas\n")
            .unwrap_err();
        assert!(err.starts_with("line 3: code"), "{err}");
    }
}
