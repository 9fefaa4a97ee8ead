//! Compiles the contracts with protox (pure Rust), so nobody needs `protoc`.
use std::path::PathBuf;

use prost::Message;

const PROTOS: &[&str] = &[
    "blangkon/vendor/v1/vendor_types.proto",
    "blangkon/vendor/v1/vendor.proto",
    "blangkon/events/v1/envelope.proto",
    "blangkon/events/v1/dead_letters.proto",
    "blangkon/events/v1/vendor_events.proto",
    "blangkon/catalog/v1/catalog.proto",
    "blangkon/events/v1/catalog_events.proto",
    "blangkon/order/v1/order.proto",
    "blangkon/events/v1/order_events.proto",
    "blangkon/reporting/v1/reporting.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=blangkon");
    let fds = protox::compile(PROTOS, ["."])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("blangkon_descriptor.bin"), fds.encode_to_vec())?;
    // Type names let events travel as `google.protobuf.Any` with a type URL.
    let mut config = prost_build::Config::new();
    config.enable_type_names();
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds_with_config(fds, config)?;
    Ok(())
}
