//! `blangkon-reporting`: runs the reporting service (`serve`, the default),
//! only its migrations (`migrate`), or a rebuild of its read model from the
//! domain topics (`rebuild`).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    blangkon_platform::service::main::<blangkon_reporting::ReportingService>().await
}
