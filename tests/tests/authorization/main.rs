//! docs/authorization.md, walked against the running services: every
//! operation of the four services, called as every caller, answers as the
//! table says. Each call is made on the caller's own thing and on somebody
//! else's: `yes` must answer neither `PERMISSION_DENIED` nor
//! `UNAUTHENTICATED` on both, `own` only on its own (`PERMISSION_DENIED`
//! on the other), `no` must refuse (`UNAUTHENTICATED` without a token).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::time::Duration;

use blangkon_platform::auth::{Role, TokenRequest};
use blangkon_proto::catalog as cat;
use blangkon_proto::catalog::catalog_service_client::CatalogServiceClient;
use blangkon_proto::order as ord;
use blangkon_proto::order::order_service_client::OrderServiceClient;
use blangkon_proto::reporting as rep;
use blangkon_proto::reporting::reporting_service_client::ReportingServiceClient;
use blangkon_proto::vendor as ven;
use blangkon_proto::vendor::vendor_service_client::VendorServiceClient;
use blangkon_suite_tests::{Member, Shop, own_topics};
use blangkon_testkit::eventually;
use blangkon_testkit::fixtures::{individual_vendor, listed_product, token, with};
use blangkon_testkit::provider::{
    ANALYST, ORDER_CLIENT, PROVINCE_ADMIN, SEMARANG_ADMIN, TestProvider,
};
use prost::Message as _;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

mod world;

use world::{World, token_of};

const TABLE: &str = include_str!("../../../docs/authorization.md");

/// The table's columns, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    ProvinceAdmin,
    RegencyAdmin,
    Vendor,
    Buyer,
    Analyst,
    Service,
    Anonymous,
}

const CALLERS: [Caller; 7] = [
    Caller::ProvinceAdmin,
    Caller::RegencyAdmin,
    Caller::Vendor,
    Caller::Buyer,
    Caller::Analyst,
    Caller::Service,
    Caller::Anonymous,
];

/// Whose thing a call reaches: the caller's own, or somebody else's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Own,
    Others,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    Yes,
    Own,
    No,
}

/// The table's rows: an operation and its cell for each caller.
fn rows() -> Vec<(String, [Cell; 7])> {
    let mut rows = Vec::new();
    for line in TABLE.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | op | seven cells |: ten pieces around the pipes.
        if cells.len() != 10 || !cells[1].contains("Service.") {
            continue;
        }
        let mut row = [Cell::No; 7];
        for (i, cell) in cells[2..9].iter().enumerate() {
            row[i] = match *cell {
                "yes" => Cell::Yes,
                "own" => Cell::Own,
                "no" => Cell::No,
                other => panic!("{}: `{other}` is not yes, own or no", cells[1]),
            };
        }
        rows.push((cells[1].to_string(), row));
    }
    rows
}

/// Every method the four services serve, as `Service.Method`.
fn served_operations() -> BTreeSet<String> {
    let set = prost_types::FileDescriptorSet::decode(blangkon_proto::FILE_DESCRIPTOR_SET).unwrap();
    let mut operations = BTreeSet::new();
    for file in set.file {
        if !file.package().starts_with("blangkon.") {
            continue;
        }
        for service in &file.service {
            for method in &service.method {
                operations.insert(format!("{}.{}", service.name(), method.name()));
            }
        }
    }
    operations
}

#[test]
fn the_table_lists_every_operation_once() {
    let listed: Vec<String> = rows().into_iter().map(|(op, _)| op).collect();
    let unique: BTreeSet<String> = listed.iter().cloned().collect();
    assert_eq!(listed.len(), unique.len(), "an operation listed twice");
    assert_eq!(unique, served_operations());
}

/// `message`, with `token` as its bearer if there is one.
fn request<T>(token: Option<&str>, message: T) -> Request<T> {
    match token {
        Some(token) => with(token, message),
        None => Request::new(message),
    }
}

fn is_refusal(code: Code) -> bool {
    matches!(code, Code::PermissionDenied | Code::Unauthenticated)
}

/// A world whose reporting has heard of both orders: its reads have
/// something to say.
async fn world() -> World {
    blangkon_testkit::init_tracing();
    let world = World::new().await;
    let analyst = token_of(Caller::Analyst);
    eventually(
        "reporting hears of both orders",
        Duration::from_secs(30),
        || {
            let mut reports = world.reports.clone();
            let analyst = analyst.clone();
            async move {
                let ledger = reports
                    .list_transactions(request(
                        analyst.as_deref(),
                        rep::ListTransactionsRequest::default(),
                    ))
                    .await
                    .ok()?
                    .into_inner();
                (ledger.transactions.len() == 2).then_some(())
            }
        },
    )
    .await;
    world
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_caller_gets_what_the_authorization_table_says() {
    let mut world = world().await;
    walk(&mut world, "the test issuer's tokens").await;
}

/// The same walk with tokens a real OpenID provider grants: people signed
/// in with the device flow, the order service's own client-credentials
/// tokens (which the provider grants for the vendor and catalog services
/// only: a caller it grants no token must be refused all the same).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_table_holds_for_tokens_from_the_provincial_provider() {
    let Some(provider) = TestProvider::start("the_table_holds_for_tokens_from_the_provider").await
    else {
        return;
    };
    let mut world = world().await;
    world.trust(provider).await;
    walk(&mut world, "the OpenID provider's tokens").await;
}

/// Calls every operation as every caller, and fails with every answer
/// that is not what the table says.
async fn walk(world: &mut World, tokens: &str) {
    let rows = rows();
    assert_eq!(rows.len(), served_operations().len(), "the table's rows");
    let mut wrong = Vec::new();
    let mut calls = 0;
    for (operation, cells) in rows {
        for (caller, cell) in CALLERS.into_iter().zip(cells) {
            let own = world.call(&operation, caller, Target::Own).await;
            calls += 1;
            let own_code = own.as_ref().err().map(Status::code);
            match cell {
                Cell::Yes | Cell::Own => {
                    if let Err(status) = &own
                        && is_refusal(status.code())
                    {
                        wrong.push(format!("{operation} as {caller:?}: refused, {status:?}"));
                    }
                }
                Cell::No => {
                    let service = operation.split('.').next().unwrap_or_default();
                    let tokenless = caller == Caller::Anonymous
                        || world
                            .token(caller, world::service_of(service))
                            .await
                            .is_none();
                    let expected = if tokenless {
                        Code::Unauthenticated
                    } else {
                        Code::PermissionDenied
                    };
                    if own_code != Some(expected) {
                        wrong.push(format!(
                            "{operation} as {caller:?}: {own_code:?}, not {expected:?}"
                        ));
                    }
                }
            }
            // Yes is on anybody's thing, own only on the caller's.
            if cell != Cell::No {
                let others = world.call(&operation, caller, Target::Others).await;
                calls += 1;
                let code = others.as_ref().err().map(Status::code);
                let refused = code.is_some_and(is_refusal);
                if cell == Cell::Yes && refused {
                    wrong.push(format!(
                        "{operation} as {caller:?} on somebody else's: refused, {others:?}"
                    ));
                }
                if cell == Cell::Own && code != Some(Code::PermissionDenied) {
                    wrong.push(format!(
                        "{operation} as {caller:?} on somebody else's: {code:?}, not PermissionDenied"
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "with {tokens}, {} of {calls} calls answered otherwise than docs/authorization.md says:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    eprintln!("authorization table with {tokens}: {calls} calls, each as the table says");
}
