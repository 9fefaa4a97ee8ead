//! Days as Central Java counts them: Western Indonesia Time (WIB, UTC+7).
//! A period is a range of such days, both ends included.

use blangkon_platform::time::wib_day;
use blangkon_platform::validation::Violation;
use chrono::{DateTime, NaiveDate, Utc};

/// The WIB calendar day of `at`, `YYYY-MM-DD`.
pub fn day_of(at: DateTime<Utc>) -> String {
    wib_day(at).format("%Y-%m-%d").to_string()
}

/// The month of a `YYYY-MM-DD` day, `YYYY-MM`.
pub fn month_of(day: &str) -> &str {
    day.get(..7).unwrap_or(day)
}

/// Whether `value` has the shape `YYYY-MM-DD`: four, two and two digits.
fn written_yyyy_mm_dd(value: &str) -> bool {
    value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        })
}

/// A checked period: each end a `YYYY-MM-DD` day or open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Period {
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
}

impl Period {
    /// Parses the ends of a request's period; `field` names it in errors
    /// (`period.from_date`).
    pub fn parse(field: &str, from: &str, until: &str) -> Result<Self, Vec<Violation>> {
        let mut violations = Vec::new();
        let mut day = |name: &str, value: &str| {
            let value = value.trim();
            if value.is_empty() {
                return None;
            }
            // chrono's %Y also takes signed and longer years
            // (`+262142-12-31`): only the written form is a day here.
            match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
                Ok(d) if written_yyyy_mm_dd(value) => Some(d),
                _ => {
                    violations.push(Violation::new(
                        format!("{field}.{name}"),
                        "must be a day written YYYY-MM-DD",
                    ));
                    None
                }
            }
        };
        let period = Self {
            from: day("from_date", from),
            until: day("until_date", until),
        };
        if let (Some(from), Some(until)) = (period.from, period.until)
            && from > until
        {
            violations.push(Violation::new(
                format!("{field}.until_date"),
                "must not be before from_date",
            ));
        }
        if violations.is_empty() {
            Ok(period)
        } else {
            Err(violations)
        }
    }

    pub fn from_day(&self) -> Option<String> {
        self.from.map(|d| d.format("%Y-%m-%d").to_string())
    }

    pub fn until_day(&self) -> Option<String> {
        self.until.map(|d| d.format("%Y-%m-%d").to_string())
    }

    /// `from_until` for names and URIs: `2026-01-01_2026-12-31`, `all` when open.
    pub fn slug(&self) -> String {
        match (self.from_day(), self.until_day()) {
            (None, None) => "all".into(),
            (from, until) => format!(
                "{}_{}",
                from.unwrap_or_else(|| "start".into()),
                until.unwrap_or_else(|| "now".into())
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_written_yyyy_mm_dd_and_nothing_else() {
        assert!(Period::parse("period", "2026-01-01", "2026-12-31").is_ok());
        for bad in [
            "+262142-12-31",
            "+2026-01-01",
            "20260-01-01",
            "2026-1-01",
            "2026/01/01",
        ] {
            let refused = Period::parse("period", "", bad).unwrap_err();
            assert_eq!(refused.len(), 1, "{bad}");
            assert_eq!(refused[0].field, "period.until_date", "{bad}");
        }
    }

    #[test]
    fn a_day_is_counted_in_wib() {
        let late_utc = DateTime::parse_from_rfc3339("2026-01-31T18:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(day_of(late_utc), "2026-02-01");
        assert_eq!(month_of(&day_of(late_utc)), "2026-02");
    }

    #[test]
    fn periods_name_their_bad_ends() {
        assert_eq!(Period::parse("period", "", "").unwrap(), Period::default());
        let ok = Period::parse("period", "2026-01-01", "2026-01-31").unwrap();
        assert_eq!(ok.slug(), "2026-01-01_2026-01-31");
        let bad = Period::parse("period", "2026-13-01", "yesterday").unwrap_err();
        let fields: Vec<_> = bad.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["period.from_date", "period.until_date"]);
        let reversed = Period::parse("period", "2026-02-01", "2026-01-01").unwrap_err();
        assert_eq!(reversed[0].field, "period.until_date");
    }
}
