//! `blangkon-reporting`: runs the reporting service (`serve`, the default),
//! only its migrations (`migrate`), or a rebuild of its read model from the
//! domain topics (`rebuild`).

/// mimalloc holds less memory after a burst than glibc's malloc, whose
/// per-thread arenas keep what the burst freed (README, Benchmark).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    use blangkon_reporting::{ReportingService, app::ReportingCommand};
    blangkon_platform::service::main_with::<ReportingService, ReportingCommand>().await
}
