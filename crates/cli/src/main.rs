//! `blangkon`: runs the local suite and talks to the services.

/// `println!` that ends the process quietly when stdout is closed (as in
/// `blangkon vendor list | head`) instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

mod bench;
mod catalog;
mod connection;
mod demo;
mod dev;
mod login;
mod onboarding;
mod order;
mod output;
mod report;
mod stream;
mod token;
mod vocabulary;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "blangkon",
    version,
    about = "Blangkon: e-catalog procurement from local businesses (UMKM)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every service in one process on SQLite and an embedded Kafka broker.
    Dev(dev::DevArgs),
    /// Sign in at the province's identity provider (device flow); later
    /// commands use the kept tokens.
    Login(login::LoginArgs),
    /// Forget the kept tokens (and revoke them at the provider).
    Logout(login::ConfigDir),
    /// Mint a bearer token with the local suite's signing key.
    Token(token::TokenArgs),
    /// Regencies and cities: join the platform, list them.
    Regency(onboarding::RegencyArgs),
    /// Vendors: register, verify, reject, suspend, reinstate, trainings.
    Vendor(onboarding::VendorArgs),
    /// Products: create, update, publish, unlist, get.
    Product(catalog::ProductArgs),
    /// The catalog: categories and search.
    Catalog(catalog::CatalogArgs),
    /// Orders: place, get, list, and each step to payment.
    Order(order::OrderArgs),
    /// Open data: summary, breakdowns, the public ledger, OCDS (no token needed).
    Report(report::ReportArgs),
    /// Follow an analyst stream from Kafka and print its JSON records.
    Stream(stream::StreamArgs),
    /// Operate the reporting service: rebuild its read model.
    Reporting(report::ReportingArgs),
    /// Benchmarks against the real service code (see `make bench`).
    Bench(bench::BenchArgs),
    /// Fill a running suite through its APIs: regencies, vendors, products
    /// and orders at the scale of Blangkon Jateng's first year (or yours).
    Demo(demo::DemoArgs),
}

/// mimalloc, as the services use: see the workspace's Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Dev(args) => dev::run(args).await,
            Command::Login(args) => login::login(args).await,
            Command::Logout(kept) => login::logout(kept).await,
            Command::Token(args) => token::run(args),
            Command::Regency(args) => onboarding::regency(args).await,
            Command::Vendor(args) => onboarding::vendor(args).await,
            Command::Product(args) => catalog::product(args).await,
            Command::Catalog(args) => catalog::catalog(args).await,
            Command::Order(args) => order::order(args).await,
            Command::Report(args) => report::report(args).await,
            Command::Stream(args) => stream::stream(args).await,
            Command::Reporting(args) => report::reporting(args).await,
            Command::Bench(args) => bench::run(args).await,
            Command::Demo(args) => demo::run(args).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(output::exit_code(&e))
        }
    }
}

#[cfg(test)]
mod tests {
    /// Every subcommand's options, flattened ones included, are
    /// consistent: no two take the same name or short flag.
    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
