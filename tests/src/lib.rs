//! The whole suite under test: a broker of the test's own that the test
//! may hang and resume ([`Broker`]), the four services on fresh databases
//! with one verified vendor and one listed product ([`Shop`]), buyers
//! placing orders ([`Load`]), and the reconciliation every fault scenario
//! ends with ([`Reconciliation`]).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod charts;
pub mod containers;

mod broker;
mod db_proxy;
mod load;
mod process;
mod shop;
mod suite;

pub use broker::*;
pub use db_proxy::*;
pub use load::*;
pub use process::*;
pub use shop::*;
pub use suite::*;

/// `GET /metrics` at `address` over plain HTTP/1.1: the status line, the
/// headers and the body.
pub fn scrape(address: std::net::SocketAddr) -> String {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

/// Prints a scenario's figures where CI shows them: straight to stderr,
/// past the test harness's capture of `println!`.
pub fn report(figures: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{figures}");
}
