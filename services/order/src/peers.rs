//! Calls to the vendor and catalog services: a deadline on every call, the
//! order service's own token for the callee's audience (client
//! credentials), the caller's trace context, and their failures mapped to
//! what the buyer should do.

use std::sync::Arc;
use std::time::Duration;

use blangkon_platform::auth::{ServiceCredentials, bearer};

use crate::error::OrderError;
use blangkon_platform::validation::{refusals_of, violations_of};
use blangkon_proto::catalog as catalog_pb;
use blangkon_proto::catalog::catalog_service_client::CatalogServiceClient;
use blangkon_proto::vendor as vendor_pb;
use blangkon_proto::vendor::vendor_service_client::VendorServiceClient;
use tonic::metadata::AsciiMetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

/// A service this one calls: its channel and its audience.
#[derive(Clone)]
pub struct Peer {
    /// `vendor` or `catalog`, for messages.
    pub name: &'static str,
    pub channel: Channel,
    pub audience: String,
}

impl Peer {
    pub fn connect(
        name: &'static str,
        endpoint: &str,
        audience: &str,
        deadline: Duration,
        tls: &blangkon_platform::tls::ClientTls,
    ) -> Result<Self, blangkon_platform::grpc::GrpcError> {
        Ok(Self {
            name,
            channel: blangkon_platform::grpc::channel(endpoint, deadline, tls, "order.peer_tls")?,
            audience: audience.to_string(),
        })
    }
}

/// The services an order depends on.
#[derive(Clone)]
pub struct Peers {
    vendor: Peer,
    catalog: Peer,
    credentials: Arc<ServiceCredentials>,
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
            // A product that is not listed, or whose vendor is not
            // verified, does not exist for a buyer (as GetProduct and
            // QuotePrices answer): the catalog tells this service why, the
            // buyer learns only that there is no such product to order.
            refusals => match refusals.iter().find(|r| hidden_from_buyers(&r.kind)) {
                Some(hidden) => {
                    OrderError::NotFound(format!("no product to order in {}", hidden.subject))
                }
                None => OrderError::Refused(refusals),
            },
        },
        code => OrderError::Unavailable(format!(
            "the {service} service failed ({code:?}); retry later"
        )),
    }
}

/// Refusals of the catalog that would tell a buyer about a product it
/// cannot see.
fn hidden_from_buyers(kind: &str) -> bool {
    matches!(kind, "NOT_LISTED" | "VENDOR_NOT_VERIFIED")
}

impl Peers {
    pub fn new(vendor: Peer, catalog: Peer, credentials: Arc<ServiceCredentials>) -> Self {
        Self {
            vendor,
            catalog,
            credentials,
        }
    }

    /// A request to `peer` carrying this service's token for it and the
    /// caller's trace context.
    async fn request<T>(&self, peer: &Peer, message: T) -> Result<Request<T>, OrderError> {
        let token = self
            .credentials
            .token_for(&peer.audience)
            .await
            .map_err(|e| {
                // Where the provider is and what it said is for the logs.
                tracing::warn!(error = %e, "cannot obtain a service token");
                OrderError::Unavailable(format!(
                    "the order service cannot authenticate to the {} service now; retry later",
                    peer.name
                ))
            })?;
        let value: AsciiMetadataValue =
            bearer(&token).map_err(|s| OrderError::Unavailable(s.message().to_string()))?;
        let mut request = Request::new(message);
        blangkon_platform::grpc::inject_trace(&mut request);
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }

    pub async fn vendor(&self, vendor_id: &str) -> Result<vendor_pb::Vendor, OrderError> {
        let request = self
            .request(
                &self.vendor,
                vendor_pb::GetVendorRequest {
                    vendor_id: vendor_id.to_string(),
                    // Only its status and identity: one lookup, not its history.
                    view: vendor_pb::VendorView::Basic as i32,
                },
            )
            .await?;
        VendorServiceClient::new(self.vendor.channel.clone())
            .get_vendor(request)
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
        let request = self
            .request(
                &self.catalog,
                catalog_pb::ReserveStockRequest {
                    reservation_id: reservation_id.to_string(),
                    lines: lines
                        .iter()
                        .map(|(product_id, quantity)| catalog_pb::QuoteLine {
                            product_id: product_id.clone(),
                            quantity: *quantity,
                        })
                        .collect(),
                },
            )
            .await?;
        CatalogServiceClient::new(self.catalog.channel.clone())
            .reserve_stock(request)
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| peer_error("catalog", s))
    }

    pub async fn release(&self, reservation_id: &str) -> Result<(), OrderError> {
        let request = self
            .request(
                &self.catalog,
                catalog_pb::ReleaseStockRequest {
                    reservation_id: reservation_id.to_string(),
                },
            )
            .await?;
        let result = CatalogServiceClient::new(self.catalog.channel.clone())
            .release_stock(request)
            .await;
        match result {
            Ok(_) => Ok(()),
            // Never reserved: nothing to give back.
            Err(s) if s.code() == Code::NotFound => Ok(()),
            Err(s) => Err(peer_error("catalog", s)),
        }
    }
}
