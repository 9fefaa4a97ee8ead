//! Where the services are and who is calling: the endpoint and token
//! options every client command shares, and clients that carry the
//! caller's token for the service they call — the one given (`--token`,
//! `BLANGKON_TOKEN`), else one for that service's audience from the
//! `blangkon login` session.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::bail;
use blangkon_platform::auth::{audience_of, bearer};
use blangkon_proto::catalog::catalog_service_client::CatalogServiceClient;
use blangkon_proto::order::order_service_client::OrderServiceClient;
use blangkon_proto::reporting::reporting_service_client::ReportingServiceClient;
use blangkon_proto::vendor::vendor_service_client::VendorServiceClient;
use clap::Args;
use tonic::metadata::AsciiMetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use crate::login::Session;
use crate::output;

/// Puts the caller's token, if any, on every call of a client.
#[derive(Clone)]
pub struct Bearer(Option<AsciiMetadataValue>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// A channel to a service, carrying the caller's token for it.
pub type Authorized = InterceptedService<Reach, Bearer>;

/// A channel to one service that says, when the service cannot be
/// reached, which service and address it tried and what to do: the
/// failure is answered as `UNAVAILABLE` with that message, so a command
/// reports it as any refused call (and exits as unreachable).
#[derive(Clone)]
pub struct Reach {
    channel: Channel,
    service: &'static str,
    endpoint: Arc<str>,
}

impl tower::Service<http::Request<tonic::body::Body>> for Reach {
    type Response = http::Response<tonic::body::Body>;
    type Error = Status;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Status>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        self.channel
            .poll_ready(cx)
            .map_err(|e| unreachable(self.service, &self.endpoint, &e))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let (service, endpoint) = (self.service, self.endpoint.clone());
        let call = self.channel.call(request);
        Box::pin(async move { call.await.map_err(|e| unreachable(service, &endpoint, &e)) })
    }
}

/// Why `service` at `endpoint` could not be reached, and what to do.
fn unreachable(service: &str, endpoint: &str, e: &tonic::transport::Error) -> Status {
    // The transport error's own text is only "transport error"; its
    // sources say what failed (connection refused, no such host, TLS).
    let mut why = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        why.push_str(": ");
        why.push_str(&cause.to_string());
        source = cause.source();
    }
    Status::unavailable(format!(
        "could not reach the {service} service at {endpoint} ({why}). Is the suite running? \
         `blangkon dev` starts it on this machine; --{service}-endpoint or \
         BLANGKON_{}_ENDPOINT names another address",
        service.to_uppercase()
    ))
}

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
    #[command(flatten)]
    tls: TlsOptions,
    /// Bearer token (`blangkon dev` prints some; `blangkon token` mints more).
    #[arg(long, env = "BLANGKON_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    #[command(flatten)]
    kept: crate::login::ConfigDir,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Print only the id of what the command created, changed or listed
    /// (a regency's code), one a line, for scripts:
    /// `VENDOR=$(blangkon vendor register ... --quiet)`.
    #[arg(short, long, global = true, conflicts_with = "json")]
    pub quiet: bool,
}

/// How the CLI reaches services at `https://` endpoints.
#[derive(Args)]
pub struct TlsOptions {
    /// PEM CA certificates the services' certificates chain to (a
    /// province's own CA); without it, the public roots.
    #[arg(long, env = "BLANGKON_CA_FILE", global = true)]
    ca_file: Option<std::path::PathBuf>,
    /// PEM client certificate, for services that require one (mutual TLS).
    #[arg(long, env = "BLANGKON_CERT_FILE", global = true, requires = "key_file")]
    cert_file: Option<std::path::PathBuf>,
    /// PEM private key of --cert-file.
    #[arg(long, env = "BLANGKON_KEY_FILE", global = true, requires = "cert_file")]
    key_file: Option<std::path::PathBuf>,
}

impl Connection {
    fn channel(
        &self,
        service: &'static str,
        endpoint: &str,
        deadline: Duration,
    ) -> anyhow::Result<Reach> {
        let tls = blangkon_platform::tls::ClientTls {
            ca_file: self.tls.ca_file.clone(),
            cert_file: self.tls.cert_file.clone(),
            key_file: self.tls.key_file.clone(),
        };
        Ok(Reach {
            channel: blangkon_platform::grpc::channel(endpoint, deadline, &tls, "tls")?,
            service,
            endpoint: endpoint.into(),
        })
    }

    /// The caller's token for `service`: the one given, else one from
    /// the sign-in session for the service's audience, else none.
    pub(crate) async fn bearer_for(&self, service: &str) -> anyhow::Result<Bearer> {
        let token = match self.token() {
            Some(token) => Some(token.to_string()),
            None => Session::token_in(&self.kept.resolve()?, &audience_of(service)).await?,
        };
        token
            .map(|t| bearer(&t).map_err(output::status_error))
            .transpose()
            .map(Bearer)
    }

    pub(crate) async fn vendor_client(&self) -> anyhow::Result<VendorServiceClient<Authorized>> {
        let channel = self.channel("vendor", &self.vendor_endpoint, Duration::from_secs(15))?;
        Ok(VendorServiceClient::with_interceptor(
            channel,
            self.bearer_for("vendor").await?,
        ))
    }

    pub async fn catalog_client(&self) -> anyhow::Result<CatalogServiceClient<Authorized>> {
        let channel = self.channel("catalog", &self.catalog_endpoint, Duration::from_secs(15))?;
        Ok(CatalogServiceClient::with_interceptor(
            channel,
            self.bearer_for("catalog").await?,
        ))
    }

    pub async fn order_client(&self) -> anyhow::Result<OrderServiceClient<Authorized>> {
        let channel = self.channel("order", &self.order_endpoint, Duration::from_secs(15))?;
        Ok(OrderServiceClient::with_interceptor(
            channel,
            self.bearer_for("order").await?,
        ))
    }

    /// Open data needs no token: one goes along when there is one, and a
    /// sign-in that cannot give one is not an error here.
    pub async fn reporting_client(&self) -> anyhow::Result<ReportingServiceClient<Authorized>> {
        let channel = self.channel(
            "reporting",
            &self.reporting_endpoint,
            Duration::from_secs(60),
        )?;
        let bearer = match self.bearer_for("reporting").await {
            Ok(bearer) => bearer,
            Err(e) => {
                eprintln!("warning: reading the open data without a token: {e:#}");
                Bearer(None)
            }
        };
        Ok(ReportingServiceClient::with_interceptor(channel, bearer))
    }

    /// The token given, if any: `BLANGKON_TOKEN=` (set but empty) is none,
    /// as an unset variable is.
    fn token(&self) -> Option<&str> {
        self.token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }

    /// A request to a public endpoint: the client adds a token when there
    /// is one, and none is needed.
    pub fn public_request<T>(&self, message: T) -> anyhow::Result<Request<T>> {
        Ok(Request::new(message))
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
        self.print(|| to_json(&answer), || for_people(&answer))
    }

    /// Prints an answer: `to_json` with `--json`, its ids with `--quiet`
    /// (refused for an answer that holds none), else `for_people`.
    pub fn print(
        &self,
        to_json: impl FnOnce() -> serde_json::Value,
        for_people: impl FnOnce(),
    ) -> anyhow::Result<()> {
        if self.json {
            output::print_json(&to_json());
        } else if self.quiet {
            let Some(ids) = output::ids(&to_json()) else {
                return Err(output::Refused::new(
                    tonic::Code::InvalidArgument,
                    "--quiet prints the ids of what a command answers, and this one answers \
                     none: --json shows all of it",
                )
                .into());
            };
            for id in ids {
                say!("{id}");
            }
        } else {
            for_people();
        }
        Ok(())
    }

    /// A request that needs a caller: refused here, before any call,
    /// when there is neither a token nor a sign-in.
    pub fn request<T>(&self, message: T) -> anyhow::Result<Request<T>> {
        if self.token().is_none() && !Session::exists(&self.kept.resolve()?) {
            bail!(
                "no token: run `blangkon login`, pass --token or set BLANGKON_TOKEN (`blangkon dev` prints tokens, `blangkon token` mints one)"
            );
        }
        Ok(Request::new(message))
    }
}
