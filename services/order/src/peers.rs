//! Calls to the vendor and catalog services: a deadline on every call, the
//! order service's own `service` token, the caller's trace context, and
//! their failures mapped to what the buyer should do.

use std::time::Duration;

use blangkon_platform::api_error::ApiError;
use blangkon_platform::auth::{Role, TokenIssuer, TokenRequest, bearer};
use blangkon_proto::catalog as catalog_pb;
use blangkon_proto::catalog::catalog_service_client::CatalogServiceClient;
use blangkon_proto::vendor as vendor_pb;
use blangkon_proto::vendor::vendor_service_client::VendorServiceClient;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

/// The services an order depends on.
#[derive(Clone)]
pub struct Peers {
    vendor: Channel,
    catalog: Channel,
    issuer: std::sync::Arc<TokenIssuer>,
}

impl std::fmt::Debug for Peers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peers").finish()
    }
}

/// A failure of a call to another service, as the buyer should see it:
/// unreachable or slow peers are `UNAVAILABLE` (retry later); their
/// refusals keep their code and message.
pub fn peer_error(service: &str, status: Status) -> ApiError {
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown => {
            ApiError::Unavailable(format!("the {service} service is unavailable; retry later"))
        }
        Code::NotFound => ApiError::NotFound(status.message().to_string()),
        Code::FailedPrecondition => ApiError::FailedPrecondition(status.message().to_string()),
        code => ApiError::Unavailable(format!(
            "the {service} service failed ({code:?}); retry later"
        )),
    }
}

impl Peers {
    pub fn new(vendor: Channel, catalog: Channel, secret: &str) -> Self {
        Self {
            vendor,
            catalog,
            issuer: std::sync::Arc::new(TokenIssuer::new(secret, None)),
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

    fn request<T>(&self, message: T) -> Result<Request<T>, ApiError> {
        let token = self
            .issuer
            .issue(
                Role::Service,
                TokenRequest {
                    subject: "order-service".into(),
                    ..TokenRequest::default()
                },
                Duration::from_secs(300),
            )
            .map_err(|e| ApiError::Unavailable(format!("cannot sign a service token: {e}")))?;
        let mut request = Request::new(message);
        blangkon_platform::grpc::inject_trace(&mut request);
        request.metadata_mut().insert(
            "authorization",
            bearer(&token).map_err(|s| ApiError::Unavailable(s.message().to_string()))?,
        );
        Ok(request)
    }

    pub async fn vendor(&self, vendor_id: &str) -> Result<vendor_pb::Vendor, ApiError> {
        VendorServiceClient::new(self.vendor.clone())
            .get_vendor(self.request(vendor_pb::GetVendorRequest {
                vendor_id: vendor_id.to_string(),
            })?)
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| peer_error("vendor", s))
    }

    pub async fn quote(&self, lines: &[(String, i64)]) -> Result<Vec<catalog_pb::Quote>, ApiError> {
        CatalogServiceClient::new(self.catalog.clone())
            .quote_prices(self.request(catalog_pb::QuotePricesRequest {
                lines: quote_lines(lines),
            })?)
            .await
            .map(|r| r.into_inner().quotes)
            .map_err(|s| peer_error("catalog", s))
    }

    pub async fn reserve(
        &self,
        reservation_id: &str,
        lines: &[(String, i64)],
    ) -> Result<(), ApiError> {
        CatalogServiceClient::new(self.catalog.clone())
            .reserve_stock(self.request(catalog_pb::ReserveStockRequest {
                reservation_id: reservation_id.to_string(),
                lines: quote_lines(lines),
            })?)
            .await
            .map(|_| ())
            .map_err(|s| peer_error("catalog", s))
    }

    pub async fn release(&self, reservation_id: &str) -> Result<(), ApiError> {
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

fn quote_lines(lines: &[(String, i64)]) -> Vec<catalog_pb::QuoteLine> {
    lines
        .iter()
        .map(|(product_id, quantity)| catalog_pb::QuoteLine {
            product_id: product_id.clone(),
            quantity: *quantity,
        })
        .collect()
}
