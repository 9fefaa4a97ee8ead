//! Conversions between chrono times and protobuf timestamps.

use chrono::{DateTime, Utc};

pub fn to_timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub fn from_timestamp(t: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?)
}

/// The current time at the microsecond precision PostgreSQL stores, so a
/// value returned to a caller equals the value read back later (a retry of
/// an idempotent call answers exactly what the first call did).
pub fn now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_has_whole_microseconds_and_survives_a_timestamp_round_trip() {
        let t = now();
        assert_eq!(t.timestamp_subsec_nanos() % 1000, 0);
        assert_eq!(from_timestamp(&to_timestamp(t)), Some(t));
    }
}
