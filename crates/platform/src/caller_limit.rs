//! A rate limit per client address on calls without a token: the public
//! reads (reporting's open data) are anonymous, so their only caller
//! identity is where the call comes from. A token-bearing call is known by
//! its token and bounded by the concurrency limits instead; health checks
//! are never limited, so a probe is not shed by a flood.
//!
//! IPv6 clients are keyed by their /64, the block one host is given, so a
//! single host cannot step round its limit by changing address. Behind a
//! load balancer every call comes from the balancer: its addresses are
//! listed as trusted proxies, and the client is then the last address of
//! `x-forwarded-for` that is not itself a trusted proxy (the addresses
//! before it were written by the client and prove nothing).

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use futures::future::Either;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

/// How often addresses whose bucket has refilled are forgotten: the map
/// then holds only the addresses heard from in the last few seconds.
const FORGET_EVERY: Duration = Duration::from_secs(10);

/// The limit and the proxies it trusts, shared by every connection.
#[derive(Clone)]
pub struct AnonymousLimit {
    limiter: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    trusted_proxies: Arc<[IpNet]>,
}

impl AnonymousLimit {
    /// `per_second` calls per address on average and `burst` at once;
    /// `per_second == 0` turns the limit off. Run [`Self::forget_idle`]
    /// beside it, or the addresses it has heard from are kept for good.
    pub fn new(per_second: u32, burst: u32, trusted_proxies: &[IpNet]) -> Self {
        let limiter = NonZeroU32::new(per_second).map(|rate| {
            let burst = NonZeroU32::new(burst).unwrap_or(rate);
            Arc::new(RateLimiter::keyed(
                Quota::per_second(rate).allow_burst(burst),
            ))
        });
        Self {
            limiter,
            trusted_proxies: trusted_proxies.into(),
        }
    }

    /// Forgets the addresses whose bucket has refilled, every few seconds
    /// until `shutdown`: a background task for the host to supervise (it
    /// ends only at shutdown, so that its ending earlier means a fault).
    pub fn forget_idle(
        &self,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> impl Future<Output = ()> + Send + 'static {
        let limiter = self.limiter.clone();
        async move {
            let Some(limiter) = limiter else {
                return shutdown.cancelled().await;
            };
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(FORGET_EVERY) => {}
                }
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        }
    }

    /// The limit `grpc.anonymous_calls_per_second` and
    /// `grpc.anonymous_burst` set, behind `grpc.trusted_proxies`.
    pub fn for_calls(settings: &crate::grpc::GrpcSettings) -> Self {
        Self::new(
            settings.anonymous_calls_per_second,
            settings.anonymous_burst,
            &settings.trusted_proxies,
        )
    }

    /// The limit of the public HTTP API (`http.requests_per_second`,
    /// `http.burst`, behind `http.trusted_proxies`).
    pub fn for_requests(settings: &crate::http::HttpSettings) -> Self {
        Self::new(
            settings.requests_per_second,
            settings.burst,
            &settings.trusted_proxies,
        )
    }

    /// Whether a gRPC call from `peer` with these headers may go on: one
    /// with a token is known by it, and bounded otherwise.
    fn admits(&self, peer: Option<IpAddr>, headers: &http::HeaderMap) -> bool {
        headers.contains_key(http::header::AUTHORIZATION)
            || self.admit_client(peer, headers).is_ok()
    }

    /// Whether a request from `peer` (with these headers, for a trusted
    /// proxy's `x-forwarded-for`) may go on; if not, how long until its
    /// client may ask again. The public HTTP API takes no tokens, so every
    /// request counts.
    pub fn admit_client(
        &self,
        peer: Option<IpAddr>,
        headers: &http::HeaderMap,
    ) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        let Some(peer) = peer else {
            // Not a TCP connection (in-process tests): nothing to key on.
            return Ok(());
        };
        let client = client_address(peer, headers, &self.trusted_proxies);
        limiter.check_key(&key(client)).map_err(|not_until| {
            use governor::clock::{Clock, DefaultClock};
            not_until.wait_time_from(DefaultClock::default().now())
        })
    }
}

/// The caller's address: the peer, or, when the peer is a trusted proxy,
/// the last `x-forwarded-for` address that is not a trusted proxy.
fn client_address(peer: IpAddr, headers: &http::HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in forwarded.iter().rev() {
        match hop_address(hop) {
            Some(ip) if is_trusted(&ip) => continue,
            Some(ip) => return ip,
            // A hop that is not an address was not written by a proxy we
            // trust: the proxy nearest it is the client we know.
            None => break,
        }
    }
    peer
}

/// The address of an `x-forwarded-for` hop, which some proxies write with
/// its port (`192.0.2.7:5678`, `[2001:db8::7]:443`).
fn hop_address(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    hop.parse::<std::net::SocketAddr>().ok().map(|a| a.ip())
}

/// IPv4 addresses as they are; IPv6 ones by their /64.
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

fn peer_of<B>(request: &http::Request<B>) -> Option<IpAddr> {
    let extensions = request.extensions();
    extensions
        .get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| {
            extensions
                .get::<TlsConnectInfo<TcpConnectInfo>>()
                .and_then(|tls| tls.get_ref().remote_addr())
        })
        .map(|addr| addr.ip())
}

impl<S> tower::Layer<S> for AnonymousLimit {
    type Service = AnonymousLimited<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AnonymousLimited {
            inner,
            limit: self.clone(),
        }
    }
}

/// A gRPC service behind [`AnonymousLimit`].
#[derive(Clone)]
pub struct AnonymousLimited<S> {
    inner: S,
    limit: AnonymousLimit,
}

impl<S, B, R> tower::Service<http::Request<B>> for AnonymousLimited<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    R: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Either<S::Future, std::future::Ready<Result<Self::Response, Self::Error>>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let health = request.uri().path().starts_with("/grpc.health.v1.Health/");
        if health || self.limit.admits(peer_of(&request), request.headers()) {
            return Either::Left(self.inner.call(request));
        }
        let refused = tonic::Status::resource_exhausted(
            "too many calls without a token from this address: slow down and retry, \
             or call with a token",
        );
        Either::Right(std::future::ready(Ok(refused.into_http())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn forwarded(value: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    #[test]
    fn the_client_is_the_peer_unless_the_peer_is_a_trusted_proxy() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        // A client may write any x-forwarded-for: from an untrusted peer
        // it is ignored.
        assert_eq!(
            client_address(ip("203.0.113.7"), &forwarded("198.51.100.1"), &trusted),
            ip("203.0.113.7")
        );
        // Through the balancer: the last address it did not add itself.
        assert_eq!(
            client_address(
                ip("10.1.2.3"),
                &forwarded("198.51.100.1, 203.0.113.7, 10.4.5.6"),
                &trusted
            ),
            ip("203.0.113.7")
        );
        // A garbage hop stops the walk at the nearest trusted proxy.
        assert_eq!(
            client_address(ip("10.1.2.3"), &forwarded("203.0.113.7, junk"), &trusted),
            ip("10.1.2.3")
        );
        assert_eq!(
            client_address(ip("10.1.2.3"), &http::HeaderMap::new(), &trusted),
            ip("10.1.2.3")
        );
        // A hop written with its port is its address.
        for hop in ["203.0.113.7:5678", "[2001:db8::7]:443"] {
            let expected = hop_address(hop).unwrap();
            assert_eq!(
                client_address(ip("10.1.2.3"), &forwarded(hop), &trusted),
                expected
            );
        }
    }

    #[test]
    fn one_ipv6_host_is_one_key_whatever_its_interface_id() {
        assert_eq!(key(ip("2001:db8:1:2::1")), key(ip("2001:db8:1:2:ffff::9")));
        assert_ne!(key(ip("2001:db8:1:2::1")), key(ip("2001:db8:1:3::1")));
        assert_eq!(key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
    }

    #[tokio::test]
    async fn an_address_past_its_burst_is_refused_and_others_and_tokens_are_not() {
        let limit = AnonymousLimit::new(1, 3, &[]);
        let none = http::HeaderMap::new();
        let flooder = Some(ip("203.0.113.7"));
        let admitted = (0..10).filter(|_| limit.admits(flooder, &none)).count();
        assert_eq!(admitted, 3, "the burst, then nothing within the second");
        assert!(limit.admits(Some(ip("203.0.113.8")), &none));
        let mut with_token = http::HeaderMap::new();
        with_token.insert(http::header::AUTHORIZATION, "Bearer x".parse().unwrap());
        assert!(limit.admits(flooder, &with_token));
        let off = AnonymousLimit::new(0, 0, &[]);
        assert!((0..100).all(|_| off.admits(flooder, &none)));
    }
}
