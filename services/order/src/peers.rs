//! Calls to the vendor and catalog services: a deadline on every call, the
//! order service's own `service` token, the caller's trace context, and
//! their failures mapped to what the buyer should do.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use blangkon_platform::auth::{Role, TokenIssuer, TokenRequest, bearer};

use crate::error::OrderError;
use blangkon_platform::validation::{refusals_of, violations_of};
use blangkon_proto::catalog as catalog_pb;
use blangkon_proto::catalog::catalog_service_client::CatalogServiceClient;
use blangkon_proto::vendor as vendor_pb;
use blangkon_proto::vendor::vendor_service_client::VendorServiceClient;
use tonic::metadata::AsciiMetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

/// How long a service token is valid, and how long one is reused: signing
/// one per call would cost every order an HMAC for nothing.
const TOKEN_LIFETIME: Duration = Duration::from_secs(300);
const TOKEN_REUSE: Duration = Duration::from_secs(60);

/// The services an order depends on.
#[derive(Clone)]
pub struct Peers {
    vendor: Channel,
    catalog: Channel,
    issuer: Arc<TokenIssuer>,
    token: Arc<Mutex<Option<(Instant, AsciiMetadataValue)>>>,
}

impl std::fmt::Debug for Peers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peers").finish()
    }
}

/// A failure of a call to another service, as the buyer should see it:
/// unreachable or slow peers are `UNAVAILABLE` (retry later); their
/// refusals keep their code, message and the fields they name.
pub fn peer_error(service: &str, status: Status) -> OrderError {
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown => {
            OrderError::Unavailable(format!("the {service} service is unavailable; retry later"))
        }
        Code::NotFound => OrderError::NotFound(status.message().to_string()),
        Code::InvalidArgument => match violations_of(&status) {
            // Not about the buyer's fields: this service asked wrongly.
            violations if violations.is_empty() => OrderError::Unavailable(format!(
                "the {service} service refused a call ({}); retry later",
                status.message()
            )),
            violations => OrderError::Invalid(violations),
        },
        Code::FailedPrecondition => match refusals_of(&status) {
            refusals if refusals.is_empty() => OrderError::NotNow(status.message().to_string()),
            refusals => OrderError::Refused(refusals),
        },
        code => OrderError::Unavailable(format!(
            "the {service} service failed ({code:?}); retry later"
        )),
    }
}

impl Peers {
    pub fn new(vendor: Channel, catalog: Channel, secret: &str) -> Self {
        Self {
            vendor,
            catalog,
            issuer: Arc::new(TokenIssuer::new(secret, None)),
            token: Arc::new(Mutex::new(None)),
        }
    }

    pub fn connect(
        vendor: &str,
        catalog: &str,
        deadline: Duration,
        secret: &str,
    ) -> Result<Self, blangkon_platform::grpc::GrpcError> {
        Ok(Self::new(
            blangkon_platform::grpc::channel(vendor, deadline)?,
            blangkon_platform::grpc::channel(catalog, deadline)?,
            secret,
        ))
    }

    /// The `authorization` value of the order service's own `service`
    /// token, signed again once it is a minute old.
    fn authorization(&self) -> Result<AsciiMetadataValue, OrderError> {
        let mut cached = self
            .token
            .lock()
            .map_err(|_| OrderError::Unavailable("the service token cache is poisoned".into()))?;
        if let Some((signed, value)) = cached.as_ref()
            && signed.elapsed() < TOKEN_REUSE
        {
            return Ok(value.clone());
        }
        let token = self
            .issuer
            .issue(
                Role::Service,
                TokenRequest {
                    subject: "order-service".into(),
                    ..TokenRequest::default()
                },
                TOKEN_LIFETIME,
            )
            .map_err(|e| OrderError::Unavailable(format!("cannot sign a service token: {e}")))?;
        let value = bearer(&token).map_err(|s| OrderError::Unavailable(s.message().to_string()))?;
        *cached = Some((Instant::now(), value.clone()));
        Ok(value)
    }

    fn request<T>(&self, message: T) -> Result<Request<T>, OrderError> {
        let mut request = Request::new(message);
        blangkon_platform::grpc::inject_trace(&mut request);
        request
            .metadata_mut()
            .insert("authorization", self.authorization()?);
        Ok(request)
    }

    pub async fn vendor(&self, vendor_id: &str) -> Result<vendor_pb::Vendor, OrderError> {
        VendorServiceClient::new(self.vendor.clone())
            .get_vendor(self.request(vendor_pb::GetVendorRequest {
                vendor_id: vendor_id.to_string(),
                // Only its status and identity: one lookup, not its history.
                view: vendor_pb::VendorView::Basic as i32,
            })?)
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| peer_error("vendor", s))
    }

    /// Takes the stock of every line and answers the price each was taken
    /// at: the order's price snapshot.
    pub async fn reserve(
        &self,
        reservation_id: &str,
        lines: &[(String, i64)],
    ) -> Result<catalog_pb::Reservation, OrderError> {
        CatalogServiceClient::new(self.catalog.clone())
            .reserve_stock(
                self.request(catalog_pb::ReserveStockRequest {
                    reservation_id: reservation_id.to_string(),
                    lines: lines
                        .iter()
                        .map(|(product_id, quantity)| catalog_pb::QuoteLine {
                            product_id: product_id.clone(),
                            quantity: *quantity,
                        })
                        .collect(),
                })?,
            )
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| peer_error("catalog", s))
    }

    pub async fn release(&self, reservation_id: &str) -> Result<(), OrderError> {
        let result = CatalogServiceClient::new(self.catalog.clone())
            .release_stock(self.request(catalog_pb::ReleaseStockRequest {
                reservation_id: reservation_id.to_string(),
            })?)
            .await;
        match result {
            Ok(_) => Ok(()),
            // Never reserved: nothing to give back.
            Err(s) if s.code() == Code::NotFound => Ok(()),
            Err(s) => Err(peer_error("catalog", s)),
        }
    }
}
