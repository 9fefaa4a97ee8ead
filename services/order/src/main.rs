//! `blangkon-order`: runs the order service (`serve`, the default), or only
//! its migrations (`migrate`).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    blangkon_platform::service::main::<blangkon_order::OrderService>().await
}
