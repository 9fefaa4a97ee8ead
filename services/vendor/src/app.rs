//! The vendor service as the platform's skeleton runs it: its API, and the
//! regencies added by configuration at start.

use blangkon_platform::host::ServiceHost;
use blangkon_platform::metrics::StatusCounts;
use blangkon_platform::service::{About, Service, StartError};
use blangkon_proto::vendor::vendor_service_server::{SERVICE_NAME, VendorServiceServer};
use tonic::service::Routes;

use crate::VendorService;
use crate::Vendors;
use crate::api::VendorApi;
use crate::settings::Settings;
use crate::store;

impl Service for VendorService {
    const ABOUT: About = About::new("vendor", 50051, &[SERVICE_NAME], crate::events::TOPICS);
    type Section = crate::settings::Regencies;
    type Migrator = crate::store::migrations::Migrator;

    async fn build(host: &mut ServiceHost, settings: &Settings) -> Result<Routes, StartError> {
        let mut added = 0;
        for regency in &settings.service.parse()? {
            let new = store::add_regency(host.database(), regency, "config")
                .await
                .map_err(|e| StartError::step("adding configured regencies", e))?;
            if new {
                tracing::debug!(code = %regency.code, name = %regency.name, "regency added from configuration");
                added += 1;
            }
        }
        if added > 0 {
            tracing::info!(added, "regencies added from configuration");
        }
        let counts = StatusCounts::registered(
            host.metrics(),
            "vendors",
            "Vendors that reached each status (pending on registration, verified, ...), counted as the change commits",
        );
        let api =
            VendorApi::new(Vendors::new(host.database().clone(), host.waker()).counting(counts));
        Ok(Routes::new(host.authenticated(
            VendorServiceServer::new(api).max_decoding_message_size(host.max_message_bytes()),
        )))
    }
}
