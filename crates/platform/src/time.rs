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

tokio::task_local! {
    /// The moment a replaying client named for the call being served.
    static REPLAYED_AT: DateTime<Utc>;
}

/// The metadata a replaying client names its moment in, RFC 3339
/// (`2021-08-17T09:30:00+07:00`). Only the local suite honours it
/// ([`crate::grpc::GrpcSettings::replay_clock`], which no setting or
/// variable can turn on); a deployed service ignores it.
pub const REPLAY_AT_HEADER: &str = "x-blangkon-replay-at";

/// When a fact of the domain happens (an order placed or moved on, a
/// vendor registered or verified, a product listed): now, or, while the
/// local suite replays a history (`blangkon demo`), the moment the
/// replaying client named for the call. Technical times (leases,
/// reservations, retries, sweeps) keep [`now`]: a replayed order must not
/// look abandoned to a sweeper that runs on the real clock.
pub fn occurred_now() -> DateTime<Utc> {
    REPLAYED_AT.try_with(|at| *at).unwrap_or_else(|_| now())
}

/// Runs `work` with [`occurred_now`] answering `at`.
pub async fn replayed_at<F: std::future::Future>(at: DateTime<Utc>, work: F) -> F::Output {
    use chrono::SubsecRound;
    REPLAYED_AT.scope(at.trunc_subsecs(6), work).await
}

/// The moment a call's [`REPLAY_AT_HEADER`] names: none without one; why
/// not, for one that is not an RFC 3339 time or lies in the future (a
/// replay tells the past).
pub fn replay_at_of(headers: &http::HeaderMap) -> Result<Option<DateTime<Utc>>, String> {
    let Some(value) = headers.get(REPLAY_AT_HEADER) else {
        return Ok(None);
    };
    let at = value
        .to_str()
        .ok()
        .and_then(|text| DateTime::parse_from_rfc3339(text.trim()).ok())
        .ok_or("must be an RFC 3339 time such as 2021-08-17T09:30:00+07:00")?
        .with_timezone(&Utc);
    if at > now() {
        return Err("must not lie in the future: a replay tells the past".into());
    }
    Ok(Some(at))
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
    fn a_replay_names_a_moment_in_the_past_in_rfc_3339() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(replay_at_of(&headers), Ok(None));
        headers.insert(
            REPLAY_AT_HEADER,
            "2021-08-17T09:30:00+07:00".parse().unwrap(),
        );
        assert_eq!(
            replay_at_of(&headers).unwrap().unwrap().to_rfc3339(),
            "2021-08-17T02:30:00+00:00"
        );
        for wrong in ["17 August 2021", "2999-01-01T00:00:00Z", ""] {
            headers.insert(REPLAY_AT_HEADER, wrong.parse().unwrap());
            assert!(replay_at_of(&headers).is_err(), "{wrong}");
        }
    }

    #[tokio::test]
    async fn facts_take_the_replayed_moment_and_technical_times_the_real_one() {
        let then = DateTime::parse_from_rfc3339("2021-08-17T09:30:00.1234567+07:00")
            .unwrap()
            .with_timezone(&Utc);
        let (occurred, technical) = replayed_at(then, async { (occurred_now(), now()) }).await;
        assert_eq!(occurred.to_rfc3339(), "2021-08-17T02:30:00.123456+00:00");
        assert!(technical > then + chrono::Duration::days(365));
        assert!(occurred_now() > then + chrono::Duration::days(365));
    }

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
