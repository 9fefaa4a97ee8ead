//! Regencies (*kabupaten*) and cities (*kota*) by their Kemendagri code.

use std::fmt;

/// Kemendagri code of a regency or city: province code, a dot, regency
/// code, e.g. `33.74` for Kota Semarang. Parsed once; whether the regency
/// exists is the vendor service's to say.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegencyCode(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be a regency code like 33.74")]
pub struct RegencyCodeError;

impl RegencyCode {
    /// Two digits, a dot, two digits; surrounding blanks are ignored.
    pub fn parse(input: &str) -> Result<Self, RegencyCodeError> {
        let code = input.trim();
        let b = code.as_bytes();
        let well_formed =
            b.len() == 5 && b[2] == b'.' && b[..2].iter().chain(&b[3..]).all(u8::is_ascii_digit);
        if well_formed {
            Ok(Self(code.to_string()))
        } else {
            Err(RegencyCodeError)
        }
    }

    /// The code written as four digits without the dot, as a NIK begins
    /// (`3374`).
    pub fn from_digits(digits: &str) -> Result<Self, RegencyCodeError> {
        match digits.as_bytes() {
            [a, b, c, d] if [a, b, c, d].iter().all(|x| x.is_ascii_digit()) => {
                Ok(Self(format!("{}.{}", &digits[..2], &digits[2..])))
            }
            _ => Err(RegencyCodeError),
        }
    }

    /// The two-digit province code, `33` for Central Java.
    pub fn province(&self) -> &str {
        &self.0[..2]
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RegencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for RegencyCode {
    type Err = RegencyCodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_two_digits_a_dot_and_two_digits() {
        let semarang = RegencyCode::parse("33.74").unwrap();
        assert_eq!(semarang.as_str(), "33.74");
        assert_eq!(semarang.province(), "33");
        assert_eq!(semarang.to_string(), "33.74");
        assert_eq!("33.74".parse::<RegencyCode>(), Ok(semarang.clone()));
        assert_eq!(RegencyCode::parse(" 33.74 ").unwrap(), semarang);
        for bad in [
            "3374", "33.7", "33-74", "ab.cd", "33.745", "3.374", "33.7a", "x3.74", "",
        ] {
            assert_eq!(RegencyCode::parse(bad), Err(RegencyCodeError), "{bad:?}");
        }
    }

    #[test]
    fn four_digits_read_as_a_code() {
        assert_eq!(RegencyCode::from_digits("3374").unwrap().as_str(), "33.74");
        for bad in ["337", "33745", "33a4", "33.7"] {
            assert!(RegencyCode::from_digits(bad).is_err(), "{bad:?}");
        }
    }
}
