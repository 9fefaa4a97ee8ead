//! Days as Central Java counts them: Western Indonesia Time (WIB, UTC+7).
//! A period is a range of such days, both ends included.

use blangkon_platform::time::wib_day;
use blangkon_platform::validation::Violation;
use chrono::{DateTime, Datelike, NaiveDate, Utc};

/// The WIB calendar day of `at`, `YYYY-MM-DD`.
pub fn day_of(at: DateTime<Utc>) -> String {
    wib_day(at).format("%Y-%m-%d").to_string()
}

/// The month of a `YYYY-MM-DD` day, `YYYY-MM`.
pub fn month_of(day: &str) -> &str {
    day.get(..7).unwrap_or(day)
}

/// The year of a `YYYY-MM-DD` day, `YYYY`.
pub fn year_of(day: &str) -> &str {
    day.get(..4).unwrap_or(day)
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

/// A run of a period that figures are kept for: days, whole months
/// (`YYYY-MM`) or whole years (`YYYY`), both ends included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Span {
    Days(String, String),
    Months(String, String),
    Years(String, String),
}

impl Period {
    /// The runs the period's figures are summed from: its whole years and
    /// months, and the days of the months it covers in part, so that a
    /// breakdown over a month or a year reads a row per key, and one over
    /// any other period at most a row per key and day of its two partial
    /// months, per month of its two partial years, and per whole year. An
    /// open end reaches the first or last day written `YYYY-MM-DD`. Empty
    /// for all time.
    pub fn spans(&self) -> Vec<Span> {
        if self.from.is_none() && self.until.is_none() {
            return Vec::new();
        }
        let from = self.from.or(NaiveDate::from_ymd_opt(0, 1, 1));
        let until = self.until.or(NaiveDate::from_ymd_opt(9999, 12, 31));
        let (Some(from), Some(until)) = (from, until) else {
            return Vec::new();
        };
        if from > until {
            // Refused by `parse`; nothing lies in it.
            return vec![Span::Days(day(from), day(until))];
        }
        let mut spans = Vec::new();
        if from.year() == until.year() {
            within_year(from, until, &mut spans);
        } else {
            within_year(from, last_of_year(from), &mut spans);
            if until.year() - from.year() > 1 {
                spans.push(Span::Years(
                    format!("{:04}", from.year() + 1),
                    format!("{:04}", until.year() - 1),
                ));
            }
            within_year(first_of_year(until), until, &mut spans);
        }
        // Neighbouring runs of days (two partial months) or of years are
        // one run.
        let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
        for span in spans {
            match (merged.last_mut(), span) {
                (Some(Span::Days(_, end)), Span::Days(start, until))
                    if next_day(end).as_deref() == Some(start.as_str()) =>
                {
                    *end = until;
                }
                (Some(Span::Years(_, end)), Span::Years(start, until))
                    if next_year(end).as_deref() == Some(start.as_str()) =>
                {
                    *end = until;
                }
                (_, span) => merged.push(span),
            }
        }
        merged
    }
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The spans of `from..=until`, two days of one year.
fn within_year(from: NaiveDate, until: NaiveDate, spans: &mut Vec<Span>) {
    let month = |d: NaiveDate| d.format("%Y-%m").to_string();
    if from == first_of_year(from) && until == last_of_year(until) {
        spans.push(Span::Years(
            format!("{:04}", from.year()),
            format!("{:04}", until.year()),
        ));
        return;
    }
    let whole_from = if from.day() == 1 {
        Some(from)
    } else {
        last_of_month(from).succ_opt()
    };
    let whole_until = if until == last_of_month(until) {
        Some(until)
    } else {
        until.with_day(1).and_then(|first| first.pred_opt())
    };
    match (whole_from, whole_until) {
        (Some(a), Some(b)) if a <= b => {
            if a > from {
                spans.push(Span::Days(day(from), day(last_of_month(from))));
            }
            spans.push(Span::Months(month(a), month(b)));
            if b < until {
                spans.push(Span::Days(
                    day(until.with_day(1).unwrap_or(until)),
                    day(until),
                ));
            }
        }
        _ => spans.push(Span::Days(day(from), day(until))),
    }
}

fn first_of_year(d: NaiveDate) -> NaiveDate {
    d.with_ordinal(1).unwrap_or(d)
}

fn last_of_year(d: NaiveDate) -> NaiveDate {
    d.with_month(12).and_then(|d| d.with_day(31)).unwrap_or(d)
}

fn last_of_month(d: NaiveDate) -> NaiveDate {
    let first = d.with_day(1).unwrap_or(d);
    first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|next| next.pred_opt())
        // December of the last year chrono knows.
        .unwrap_or_else(|| last_of_year(d))
}

/// The year after a `YYYY` year, if it is written with four digits.
fn next_year(year: &str) -> Option<String> {
    let next = year.parse::<u16>().ok()? + 1;
    (next <= 9999).then(|| format!("{next:04}"))
}

/// The day after a `YYYY-MM-DD` day.
fn next_day(day: &str) -> Option<String> {
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()?
        .succ_opt()
        .map(|d| d.format("%Y-%m-%d").to_string())
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

    fn spans(from: &str, until: &str) -> Vec<Span> {
        Period::parse("period", from, until).unwrap().spans()
    }

    fn days(from: &str, until: &str) -> Span {
        Span::Days(from.into(), until.into())
    }

    #[test]
    fn a_month_or_a_year_is_one_span() {
        assert_eq!(spans("", ""), []);
        assert_eq!(
            spans("2026-02-01", "2026-02-28"),
            [Span::Months("2026-02".into(), "2026-02".into())]
        );
        assert_eq!(
            spans("2024-02-01", "2024-02-29"),
            [Span::Months("2024-02".into(), "2024-02".into())],
            "a leap February"
        );
        assert_eq!(
            spans("2026-01-01", "2026-12-31"),
            [Span::Years("2026".into(), "2026".into())]
        );
        assert_eq!(
            spans("2026-04-01", "2026-06-30"),
            [Span::Months("2026-04".into(), "2026-06".into())]
        );
    }

    #[test]
    fn partial_months_are_read_by_day() {
        assert_eq!(
            spans("2026-02-03", "2026-02-27"),
            [days("2026-02-03", "2026-02-27")]
        );
        // Two partial neighbouring months are one run of days.
        assert_eq!(
            spans("2026-02-15", "2026-03-10"),
            [days("2026-02-15", "2026-03-10")]
        );
        assert_eq!(
            spans("2026-02-15", "2026-05-10"),
            [
                days("2026-02-15", "2026-02-28"),
                Span::Months("2026-03".into(), "2026-04".into()),
                days("2026-05-01", "2026-05-10"),
            ]
        );
        assert_eq!(
            spans("2025-12-31", "2026-01-01"),
            [days("2025-12-31", "2026-01-01")]
        );
    }

    #[test]
    fn whole_years_between_partial_ones_are_one_span() {
        assert_eq!(
            spans("2023-11-15", "2026-02-28"),
            [
                days("2023-11-15", "2023-11-30"),
                Span::Months("2023-12".into(), "2023-12".into()),
                Span::Years("2024".into(), "2025".into()),
                Span::Months("2026-01".into(), "2026-02".into()),
            ]
        );
        assert_eq!(
            spans("0001-01-01", "9999-12-31"),
            [Span::Years("0001".into(), "9999".into())],
            "the widest period is one span, not ten thousand"
        );
        assert_eq!(
            spans("2024-01-01", "2026-12-31"),
            [Span::Years("2024".into(), "2026".into())]
        );
    }

    #[test]
    fn an_open_end_reaches_the_first_or_last_day_there_is() {
        assert_eq!(
            spans("2026-02-01", ""),
            [
                Span::Months("2026-02".into(), "2026-12".into()),
                Span::Years("2027".into(), "9999".into()),
            ]
        );
        assert_eq!(
            spans("", "2026-02-14"),
            [
                Span::Years("0000".into(), "2025".into()),
                Span::Months("2026-01".into(), "2026-01".into()),
                days("2026-02-01", "2026-02-14"),
            ]
        );
    }

    /// Every day of the period is in exactly one span, and no other day is.
    #[test]
    fn spans_cover_the_period_exactly() {
        let start = NaiveDate::from_ymd_opt(2023, 12, 1).unwrap();
        let covered = |span: &Span, d: NaiveDate| -> bool {
            let (day, month, year) = (
                d.format("%Y-%m-%d").to_string(),
                d.format("%Y-%m").to_string(),
                d.format("%Y").to_string(),
            );
            match span {
                Span::Days(a, b) => *a <= day && day <= *b,
                Span::Months(a, b) => *a <= month && month <= *b,
                Span::Years(a, b) => *a <= year && year <= *b,
            }
        };
        for (from_offset, until_offset) in
            [(0, 0), (0, 30), (14, 45), (31, 425), (3, 800), (0, 396)]
        {
            let from = start + chrono::Days::new(from_offset);
            let until = start + chrono::Days::new(until_offset);
            let period = Period {
                from: Some(from),
                until: Some(until),
            };
            let spans = period.spans();
            for offset in 0..900 {
                let d = start + chrono::Days::new(offset);
                let inside = from <= d && d <= until;
                let times = spans.iter().filter(|s| covered(s, d)).count();
                assert_eq!(times, usize::from(inside), "{d} in {period:?}: {spans:?}");
            }
        }
    }
}
