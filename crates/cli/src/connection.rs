//! Where the services are and who is calling: the endpoint and token
//! options every client command shares, and requests carrying the token.

use std::time::Duration;

use anyhow::bail;
use blangkon_platform::auth::bearer;
use blangkon_proto::vendor::vendor_service_client::VendorServiceClient;
use clap::Args;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use crate::output;

#[derive(Args)]
pub struct Connection {
    /// Vendor service address.
    #[arg(
        long,
        env = "BLANGKON_VENDOR_ENDPOINT",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    vendor_endpoint: String,
    /// Catalog service address.
    #[arg(
        long,
        env = "BLANGKON_CATALOG_ENDPOINT",
        default_value = "http://127.0.0.1:50052",
        global = true
    )]
    catalog_endpoint: String,
    /// Order service address.
    #[arg(
        long,
        env = "BLANGKON_ORDER_ENDPOINT",
        default_value = "http://127.0.0.1:50053",
        global = true
    )]
    order_endpoint: String,
    /// Reporting service address.
    #[arg(
        long,
        env = "BLANGKON_REPORTING_ENDPOINT",
        default_value = "http://127.0.0.1:50054",
        global = true
    )]
    reporting_endpoint: String,
    /// Bearer token (`blangkon dev` prints some; `blangkon token` mints more).
    #[arg(long, env = "BLANGKON_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

impl Connection {
    pub(crate) async fn vendor_client(&self) -> anyhow::Result<VendorServiceClient<Channel>> {
        let channel =
            blangkon_platform::grpc::channel(&self.vendor_endpoint, Duration::from_secs(15))?;
        Ok(VendorServiceClient::new(channel))
    }

    pub async fn catalog_client(
        &self,
    ) -> anyhow::Result<
        blangkon_proto::catalog::catalog_service_client::CatalogServiceClient<Channel>,
    > {
        let channel =
            blangkon_platform::grpc::channel(&self.catalog_endpoint, Duration::from_secs(15))?;
        Ok(blangkon_proto::catalog::catalog_service_client::CatalogServiceClient::new(channel))
    }

    pub async fn order_client(
        &self,
    ) -> anyhow::Result<blangkon_proto::order::order_service_client::OrderServiceClient<Channel>>
    {
        let channel =
            blangkon_platform::grpc::channel(&self.order_endpoint, Duration::from_secs(15))?;
        Ok(blangkon_proto::order::order_service_client::OrderServiceClient::new(channel))
    }

    pub async fn reporting_client(
        &self,
    ) -> anyhow::Result<
        blangkon_proto::reporting::reporting_service_client::ReportingServiceClient<Channel>,
    > {
        let channel =
            blangkon_platform::grpc::channel(&self.reporting_endpoint, Duration::from_secs(60))?;
        Ok(
            blangkon_proto::reporting::reporting_service_client::ReportingServiceClient::new(
                channel,
            ),
        )
    }

    /// The token given, if any: `BLANGKON_TOKEN=` (set but empty) is none,
    /// as an unset variable is.
    fn token(&self) -> Option<&str> {
        self.token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }

    /// A request to a public endpoint: the token goes along when there is
    /// one, and none is needed.
    pub fn public_request<T>(&self, message: T) -> anyhow::Result<Request<T>> {
        match self.token() {
            Some(_) => self.request(message),
            None => Ok(Request::new(message)),
        }
    }

    /// Prints a call's answer: `to_json` of it with `--json`, else
    /// `for_people`. A refused call is the error, explained.
    pub fn show<T>(
        &self,
        reply: Result<Response<T>, Status>,
        to_json: impl FnOnce(&T) -> serde_json::Value,
        for_people: impl FnOnce(&T),
    ) -> anyhow::Result<()> {
        let answer = reply.map_err(output::status_error)?.into_inner();
        if self.json {
            output::print_json(&to_json(&answer));
        } else {
            for_people(&answer);
        }
        Ok(())
    }

    pub fn request<T>(&self, message: T) -> anyhow::Result<Request<T>> {
        let Some(token) = self.token() else {
            bail!(
                "no token: pass --token or set BLANGKON_TOKEN (`blangkon dev` prints tokens, `blangkon token` mints one)"
            );
        };
        let mut request = Request::new(message);
        request.metadata_mut().insert(
            "authorization",
            bearer(token).map_err(output::status_error)?,
        );
        Ok(request)
    }
}
