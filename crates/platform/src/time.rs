//! Conversions between chrono times and protobuf timestamps.

use chrono::{DateTime, FixedOffset, NaiveDate, Offset as _, Utc};

pub fn to_timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub fn from_timestamp(t: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?)
}

/// A protobuf timestamp as the public HTTP APIs write times: RFC 3339,
/// UTC, microseconds.
pub fn rfc3339_of(t: Option<&prost_types::Timestamp>) -> Option<String> {
    t.and_then(from_timestamp)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

/// The current time at the microsecond precision PostgreSQL stores, so a
/// value returned to a caller equals the value read back later (a retry of
/// an idempotent call answers exactly what the first call did).
pub fn now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

/// Western Indonesia Time (WIB), Central Java's clock: a fixed UTC+7, no
/// daylight saving. Days in requests and reports are WIB days.
pub fn wib() -> FixedOffset {
    // Seven hours is within chrono's ±24 h, so the fallback never happens.
    FixedOffset::east_opt(7 * 3600).unwrap_or_else(|| Utc.fix())
}

/// The WIB calendar day `at` falls on.
pub fn wib_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&wib()).date_naive()
}

/// The instant a WIB calendar day begins.
pub fn wib_day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
        - chrono::Duration::seconds(wib().local_minus_utc().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wib_day_begins_at_17_00_utc_the_day_before() {
        let day = NaiveDate::from_ymd_opt(2026, 2, 1).unwrap();
        let start = wib_day_start(day);
        assert_eq!(start.to_rfc3339(), "2026-01-31T17:00:00+00:00");
        assert_eq!(wib_day(start), day);
        assert_eq!(
            wib_day(start - chrono::Duration::seconds(1)),
            day.pred_opt().unwrap()
        );
    }

    #[test]
    fn now_has_whole_microseconds_and_survives_a_timestamp_round_trip() {
        let t = now();
        assert_eq!(t.timestamp_subsec_nanos() % 1000, 0);
        assert_eq!(from_timestamp(&to_timestamp(t)), Some(t));
    }
}
