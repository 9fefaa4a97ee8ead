//! `blangkon-catalog`: runs the catalog service (`serve`, the default), or
//! only its migrations (`migrate`).

/// mimalloc holds less memory after a burst than glibc's malloc, whose
/// per-thread arenas keep what the burst freed (README, Benchmark).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    blangkon_platform::service::main::<blangkon_catalog::CatalogService>().await
}
