//! Indonesian identifiers a vendor registers with, each parsed once at the
//! boundary so that the rest of the code holds only valid values.
//!
//! - NIK (*Nomor Induk Kependudukan*), 16 digits: province and regency
//!   (4), district (2), birth date DDMMYY with 40 added to the day for women
//!   (6), serial (4).
//! - NIB (*Nomor Induk Berusaha*), the business identification number from
//!   OSS: 13 digits.
//! - NPWP (*Nomor Pokok Wajib Pajak*), the taxpayer number: 15 digits, or
//!   16 since the 2024 format. Often written with dots and a dash.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("must be {expected} digits, got {got}")]
    Length { expected: &'static str, got: usize },
    #[error("must contain only digits")]
    NotDigits,
    /// The digits are not repeated: they are part of a person's NIK.
    #[error("birth date part (digits 7 to 12) is not a real date (DDMMYY, day + 40 for women)")]
    BirthDate,
    #[error("serial part must not be 0000")]
    Serial,
}

/// Strips the separators people type (spaces, dots, dashes) and checks
/// what remains is digits.
fn digits_of(input: &str) -> Result<String, IdentifierError> {
    let digits: String = input
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-'))
        .collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(IdentifierError::NotDigits);
    }
    Ok(digits)
}

pub use blangkon_domain::RegencyCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Male,
    Female,
}

/// A NIK whose shape and birth date are valid. Whether its regency exists is
/// for the caller to check against the known regencies ([`Nik::regency_code`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nik {
    digits: String,
    regency: RegencyCode,
    sex: Sex,
}

impl Nik {
    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        let digits = digits_of(input)?;
        if digits.len() != 16 {
            return Err(IdentifierError::Length {
                expected: "16",
                got: digits.len(),
            });
        }
        let num = |range: std::ops::Range<usize>| -> u32 {
            digits[range]
                .bytes()
                .fold(0, |n, b| n * 10 + u32::from(b - b'0'))
        };
        let (day, month, year) = (num(6..8), num(8..10), num(10..12));
        // Women's NIKs carry the day of birth plus 40.
        let (day, sex) = match day {
            41..=71 => (day - 40, Sex::Female),
            day => (day, Sex::Male),
        };
        if !is_real_date(day, month, year) {
            return Err(IdentifierError::BirthDate);
        }
        if num(12..16) == 0 {
            return Err(IdentifierError::Serial);
        }
        let regency =
            RegencyCode::from_digits(&digits[..4]).map_err(|_| IdentifierError::NotDigits)?;
        Ok(Self {
            digits,
            regency,
            sex,
        })
    }

    /// The regency the NIK was issued in, from its first four digits.
    pub fn regency_code(&self) -> &RegencyCode {
        &self.regency
    }

    pub fn sex(&self) -> Sex {
        self.sex
    }

    pub fn as_str(&self) -> &str {
        &self.digits
    }
}

/// A two-digit year is either 19YY or 20YY; 29 February is real if it is a
/// leap day in either century, which is when YY is a multiple of 4 (1900
/// was no leap year, but 2000 was).
fn is_real_date(day: u32, month: u32, yy: u32) -> bool {
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if yy.is_multiple_of(4) => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days_in_month).contains(&day)
}

/// A 13-digit NIB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nib(String);

impl Nib {
    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        let digits = digits_of(input)?;
        if digits.len() != 13 {
            return Err(IdentifierError::Length {
                expected: "13",
                got: digits.len(),
            });
        }
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A 15- or 16-digit NPWP, stored without separators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Npwp(String);

impl Npwp {
    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        let digits = digits_of(input)?;
        if !(digits.len() == 15 || digits.len() == 16) {
            return Err(IdentifierError::Length {
                expected: "15 or 16",
                got: digits.len(),
            });
        }
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nik_of_a_man_born_in_semarang_parses() {
        let nik = Nik::parse("3374011708450001").unwrap();
        assert_eq!(nik.regency_code().as_str(), "33.74");
        assert_eq!(nik.sex(), Sex::Male);
    }

    #[test]
    fn a_nik_with_day_plus_forty_is_a_woman() {
        let nik = Nik::parse("3301025712900003").unwrap(); // 17 Dec 1990
        assert_eq!(nik.sex(), Sex::Female);
    }

    #[test]
    fn a_woman_born_on_the_first_is_day_forty_one() {
        let nik = Nik::parse("3374014101900002").unwrap(); // 1 Jan 1990
        assert_eq!(nik.sex(), Sex::Female);
        assert_eq!(nik.regency_code().as_str(), "33.74");
    }

    #[test]
    fn a_man_born_on_the_thirty_first_is_day_thirty_one() {
        let nik = Nik::parse("3374013101900002").unwrap(); // 31 Jan 1990
        assert_eq!(nik.sex(), Sex::Male);
    }

    #[test]
    fn a_womans_day_is_checked_after_taking_the_forty_off() {
        assert!(Nik::parse("3374017101900002").is_ok()); // 31 January
        assert!(Nik::parse("3374017102900002").is_err()); // 31 February
    }

    #[test]
    fn day_forty_is_no_date_for_either() {
        assert!(matches!(
            Nik::parse("3374014001900002"),
            Err(IdentifierError::BirthDate)
        ));
    }

    #[test]
    fn a_nik_may_be_typed_with_spaces_and_dots() {
        assert_eq!(
            Nik::parse("3374 0117 0845 0001").unwrap(),
            Nik::parse("3374011708450001").unwrap()
        );
    }

    #[test]
    fn a_nik_of_fifteen_digits_is_refused() {
        assert_eq!(
            Nik::parse("337401170845000"),
            Err(IdentifierError::Length {
                expected: "16",
                got: 15
            })
        );
    }

    #[test]
    fn a_nik_with_letters_is_refused() {
        assert_eq!(
            Nik::parse("33740117084500A1"),
            Err(IdentifierError::NotDigits)
        );
    }

    #[test]
    fn a_nik_born_on_the_thirty_second_is_refused() {
        assert!(matches!(
            Nik::parse("3374013208450001"),
            Err(IdentifierError::BirthDate)
        ));
    }

    #[test]
    fn a_woman_born_on_day_seventy_two_is_refused() {
        // 72 - 40 = 32: not a day of any month.
        assert!(matches!(
            Nik::parse("3374017208450001"),
            Err(IdentifierError::BirthDate)
        ));
    }

    #[test]
    fn a_nik_in_month_thirteen_is_refused() {
        assert!(matches!(
            Nik::parse("3374011713450001"),
            Err(IdentifierError::BirthDate)
        ));
    }

    #[test]
    fn the_thirtieth_of_february_is_refused() {
        assert!(matches!(
            Nik::parse("3374013002850001"),
            Err(IdentifierError::BirthDate)
        ));
    }

    #[test]
    fn a_leap_day_is_real_only_in_a_leap_year() {
        assert!(Nik::parse("3374012902840001").is_ok()); // 1984 or 2084
        assert!(Nik::parse("3374012902000001").is_ok()); // 2000
        assert!(Nik::parse("3374012902850001").is_err()); // 1985 nor 2085
    }

    #[test]
    fn months_of_thirty_days_end_on_the_thirtieth() {
        assert!(Nik::parse("3374013006900002").is_ok()); // 30 June 1990
        assert!(Nik::parse("3374013106900002").is_err()); // 31 June
        assert!(Nik::parse("3374013004900002").is_ok()); // 30 April
        assert!(Nik::parse("3374013009900002").is_ok()); // 30 September
        assert!(Nik::parse("3374013011900002").is_ok()); // 30 November
        assert!(Nik::parse("3374013111900002").is_err()); // 31 November
    }

    #[test]
    fn february_has_twenty_eight_days_outside_leap_years() {
        assert!(Nik::parse("3374012802850001").is_ok()); // 28 Feb 1985
        assert!(Nik::parse("3374016802850001").is_ok()); // a woman, 28 Feb 1985
        assert!(Nik::parse("3374012902960001").is_ok()); // 1996 or 2096
        assert!(Nik::parse("3374012902010001").is_err()); // 1901 nor 2001
    }

    #[test]
    fn a_nik_with_serial_zero_is_refused() {
        assert_eq!(Nik::parse("3374011708450000"), Err(IdentifierError::Serial));
    }

    #[test]
    fn a_nib_has_thirteen_digits() {
        assert_eq!(
            Nib::parse("912-000-1234567").unwrap().as_str(),
            "9120001234567"
        );
        assert!(Nib::parse("912000123456").is_err());
        assert!(Nib::parse("91200012345678").is_err());
    }

    #[test]
    fn an_npwp_has_fifteen_or_sixteen_digits_and_may_carry_separators() {
        assert_eq!(
            Npwp::parse("01.234.567.8-901.000").unwrap().as_str(),
            "012345678901000"
        );
        assert!(Npwp::parse("0123456789010001").is_ok());
        assert!(Npwp::parse("01234567890100").is_err());
        assert!(Npwp::parse("01234567890100012").is_err());
    }
}
