//! `blangkon-vendor`: runs the vendor service (`serve`, the default), or
//! only its migrations (`migrate`).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    blangkon_platform::service::main::<blangkon_vendor::VendorService>().await
}
