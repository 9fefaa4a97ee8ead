//! The vendor service as the platform's skeleton runs it: its API, and the
//! regencies added by configuration at start.

use blangkon_platform::host::ServiceHost;
use blangkon_platform::kafka::TopicSpec;
use blangkon_platform::service::{self, NoCommand, Service, StartError};
use blangkon_proto::vendor::vendor_service_server::{SERVICE_NAME, VendorServiceServer};
use tonic::service::Routes;

use crate::api::VendorApi;
use crate::settings::{Regencies, Settings};
use crate::store::{self, migrations::Migrator};

/// The vendor service.
#[derive(Debug)]
pub struct VendorService;

/// A vendor service bound to its port, ready to run.
pub type Application = service::Application<VendorService>;

impl Service for VendorService {
    const NAME: &'static str = "vendor";
    const DEFAULT_PORT: u16 = 50051;
    const SECTION: &'static str = "regencies";
    const GRPC_SERVICES: &'static [&'static str] = &[SERVICE_NAME];
    const TOPICS: &'static [TopicSpec<'static>] = crate::events::TOPICS;
    type Section = Regencies;
    type Migrator = Migrator;
    type Command = NoCommand;

    async fn build(host: &mut ServiceHost, settings: &Settings) -> Result<Routes, StartError> {
        for regency in &settings.service.parse()? {
            let added = store::add_regency(host.database(), regency, "config")
                .await
                .map_err(|e| StartError::step("adding configured regencies", e))?;
            if added {
                tracing::info!(code = %regency.code, name = %regency.name, "regency added from configuration");
            }
        }
        let api = VendorApi::new(host.database().clone(), host.waker());
        Ok(Routes::new(VendorServiceServer::with_interceptor(
            api,
            host.authenticator(),
        )))
    }
}
