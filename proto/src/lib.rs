//! Blangkon's contracts: the gRPC APIs and the Kafka event payloads, generated
//! from `proto/blangkon/**`. Modules mirror the protobuf package tree.

/// Encoded `FileDescriptorSet` of every Blangkon proto, for server reflection
/// and for tools that decode events without the `.proto` files.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/blangkon_descriptor.bin"));

/// `pub mod <package> { pub mod v1 { .. } }` holding what prost and tonic
/// generated for `blangkon.<package>.v1`, as `tonic::include_proto!` would.
macro_rules! packages {
    ($($package:ident),*) => {
        $(pub mod $package {
            pub mod v1 {
                include!(concat!(env!("OUT_DIR"), "/blangkon.", stringify!($package), ".v1.rs"));
            }
        })*
    };
}

pub mod blangkon {
    packages!(vendor, catalog, order, reporting, events);
}

pub use blangkon::catalog::v1 as catalog;
pub use blangkon::events::v1 as events;
pub use blangkon::order::v1 as order;
pub use blangkon::reporting::v1 as reporting;
pub use blangkon::vendor::v1 as vendor;
