//! Numbers, money and days as a reader of each language writes them:
//! `Rp1.250.000` and `12 Maret 2024` in Indonesian, `Rp1,250,000` and
//! `12 March 2024` in English. Days and times are Western Indonesian Time
//! (WIB), as the ledger's days are.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Offset, Timelike, Utc};

use crate::domain::red_flags::Lang;

/// A whole number with the language's thousands separator.
pub fn number(n: i64, lang: Lang) -> String {
    let separator = match lang {
        Lang::Id => '.',
        Lang::En => ',',
    };
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(digit);
    }
    out
}

/// Whole rupiah; a negative amount as `-Rp1.000`.
pub fn rupiah(n: i64, lang: Lang) -> String {
    let sign = if n < 0 { "-" } else { "" };
    format!("{sign}Rp{}", number(n, lang).trim_start_matches('-'))
}

/// Rupiah rounded to a short figure for a headline: `Rp12,3 miliar`,
/// `Rp12.3 billion`. Below a million, the whole amount.
pub fn rupiah_short(n: i64, lang: Lang) -> String {
    const STEPS: [(i64, &str, &str); 3] = [
        (1_000_000_000_000, "triliun", "trillion"),
        (1_000_000_000, "miliar", "billion"),
        (1_000_000, "juta", "million"),
    ];
    let size = i128::from(n.unsigned_abs());
    let sign = if n < 0 { "-" } else { "" };
    for (step, id, en) in STEPS {
        let step = i128::from(step);
        let tenths = (size * 10 + step / 2) / step;
        // A unit is used from one of it, or from what the unit below
        // would round up to a thousand of (Rp999,950,000 is "Rp1 miliar",
        // not "Rp1.000 juta"); below a million the amount is written whole.
        let below = step / 1_000;
        let rounds_up = step > 1_000_000 && (size * 10 + below / 2) / below >= 10_000;
        if size >= step || rounds_up {
            let whole = number(i64::try_from(tenths / 10).unwrap_or(i64::MAX), lang);
            let tenth = tenths % 10;
            let (mark, word) = match lang {
                Lang::Id => (',', id),
                Lang::En => ('.', en),
            };
            return if tenth == 0 {
                format!("{sign}Rp{whole} {word}")
            } else {
                format!("{sign}Rp{whole}{mark}{tenth} {word}")
            };
        }
    }
    rupiah(n, lang)
}

/// Basis points as a percentage with one decimal: `41,2%`, `41.2%`. A
/// share is never negative: one below zero is written as 0.
pub fn percent_bp(bp: i64, lang: Lang) -> String {
    let tenths = (bp.max(0) + 5) / 10;
    let mark = match lang {
        Lang::Id => ',',
        Lang::En => '.',
    };
    format!("{}{mark}{}%", tenths / 10, tenths % 10)
}

fn wib() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).unwrap_or(Utc.fix())
}

const MONTHS_ID: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn month_name(month0: u32, lang: Lang) -> &'static str {
    let names = match lang {
        Lang::Id => &MONTHS_ID,
        Lang::En => &MONTHS_EN,
    };
    names.get(month0 as usize).copied().unwrap_or("")
}

/// A calendar day: `12 Maret 2024`.
pub fn day(date: NaiveDate, lang: Lang) -> String {
    format!(
        "{} {} {}",
        date.day(),
        month_name(date.month0(), lang),
        date.year()
    )
}

/// A `YYYY-MM-DD` day as [`day`] writes it; the text itself if it is not
/// one.
pub fn day_text(text: &str, lang: Lang) -> String {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_or_else(|_| text.to_string(), |d| day(d, lang))
}

/// A moment in WIB: `12 Maret 2024, 14.05 WIB`.
pub fn moment(at: DateTime<Utc>, lang: Lang) -> String {
    let local = at.with_timezone(&wib());
    let (hour, minute) = (local.hour(), local.minute());
    match lang {
        Lang::Id => format!(
            "{}, {hour:02}.{minute:02} WIB",
            day(local.date_naive(), lang)
        ),
        Lang::En => format!(
            "{}, {hour:02}:{minute:02} WIB",
            day(local.date_naive(), lang)
        ),
    }
}

/// The WIB day of a moment, as `YYYY-MM-DD` (for `<time datetime>`).
pub fn iso_day(at: DateTime<Utc>) -> String {
    at.with_timezone(&wib()).format("%Y-%m-%d").to_string()
}

/// A protobuf timestamp as a UTC moment.
pub fn from_timestamp(t: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    let t = t?;
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0))
}

/// A `YYYY-MM` month: `Maret 2024`.
pub fn month(text: &str, lang: Lang) -> String {
    let parsed = text
        .split_once('-')
        .and_then(|(y, m)| Some((y.parse::<i32>().ok()?, m.parse::<u32>().ok()?)))
        .filter(|(_, m)| (1..=12).contains(m));
    match parsed {
        Some((year, month)) => format!("{} {year}", month_name(month - 1, lang)),
        None => text.to_string(),
    }
}

/// A category as a person reads it: its name in the catalog's taxonomy
/// (`katering.nasi-kotak` → `Katering Makanan › Nasi Kotak`), or, for a
/// code the shipped taxonomy does not hold, the code as words
/// (`Katering › Nasi kotak`) rather than a name the catalog did not give.
pub fn category(code: &str) -> String {
    if let Some(name) = blangkon_domain::category::category_name(code) {
        return name;
    }
    code.split('.')
        .map(|part| {
            let words = part.replace('-', " ");
            let mut chars = words.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<String>>()
        .join(" › ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_take_each_languages_separator() {
        assert_eq!(number(0, Lang::Id), "0");
        assert_eq!(number(999, Lang::Id), "999");
        assert_eq!(number(1_250_000, Lang::Id), "1.250.000");
        assert_eq!(number(1_250_000, Lang::En), "1,250,000");
        assert_eq!(number(-12_345, Lang::En), "-12,345");
        assert_eq!(number(i64::MIN, Lang::En), "-9,223,372,036,854,775,808");
        assert_eq!(rupiah(49_500_000, Lang::Id), "Rp49.500.000");
    }

    #[test]
    fn headline_money_is_short_and_rounded() {
        assert_eq!(rupiah_short(12_345_678_901, Lang::Id), "Rp12,3 miliar");
        assert_eq!(rupiah_short(12_345_678_901, Lang::En), "Rp12.3 billion");
        assert_eq!(rupiah_short(2_000_000, Lang::Id), "Rp2 juta");
        assert_eq!(rupiah_short(1_960_000, Lang::En), "Rp2 million");
        assert_eq!(rupiah_short(999_999, Lang::Id), "Rp999.999");
        assert_eq!(rupiah_short(-3_500_000, Lang::Id), "-Rp3,5 juta");
        // What rounds up to the next unit is written in it.
        assert_eq!(rupiah_short(999_950_000, Lang::Id), "Rp1 miliar");
        assert_eq!(rupiah_short(999_949_999_999, Lang::En), "Rp999.9 billion");
        assert_eq!(rupiah_short(949_000_000, Lang::Id), "Rp949 juta");
        assert_eq!(rupiah(-1_000, Lang::Id), "-Rp1.000");
    }

    #[test]
    fn shares_round_to_a_tenth_of_a_percent() {
        assert_eq!(percent_bp(4_000, Lang::Id), "40,0%");
        assert_eq!(percent_bp(4_126, Lang::En), "41.3%");
        assert_eq!(percent_bp(0, Lang::En), "0.0%");
        assert_eq!(percent_bp(10_000, Lang::Id), "100,0%");
        assert_eq!(percent_bp(-15, Lang::Id), "0,0%");
    }

    #[test]
    fn days_are_written_in_wib() {
        // 17:30 UTC is already the next day in WIB.
        let at = DateTime::parse_from_rfc3339("2024-03-11T17:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(moment(at, Lang::Id), "12 Maret 2024, 00.30 WIB");
        assert_eq!(moment(at, Lang::En), "12 March 2024, 00:30 WIB");
        assert_eq!(iso_day(at), "2024-03-12");
        assert_eq!(month("2024-08", Lang::Id), "Agustus 2024");
        assert_eq!(month("2024-13", Lang::En), "2024-13");
        assert_eq!(day_text("2024-12-31", Lang::En), "31 December 2024");
        assert_eq!(day_text("not a day", Lang::En), "not a day");
    }

    #[test]
    fn category_codes_read_as_words() {
        assert_eq!(
            category("katering.nasi-kotak"),
            "Katering Makanan › Nasi Kotak"
        );
        assert_eq!(category("katering.lain-lain"), "Katering › Lain lain");
        assert_eq!(category("zzz"), "Zzz");
        assert_eq!(category(""), "");
    }
}
