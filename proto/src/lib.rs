//! Blangkon's contracts: the gRPC APIs and the Kafka event payloads, generated
//! from `proto/blangkon/**`. Modules mirror the protobuf package tree.

/// Encoded `FileDescriptorSet` of every Blangkon proto, for server reflection
/// and for tools that decode events without the `.proto` files.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/blangkon_descriptor.bin"));

pub mod blangkon {
    pub mod vendor {
        pub mod v1 {
            tonic::include_proto!("blangkon.vendor.v1");
        }
    }
    pub mod catalog {
        pub mod v1 {
            tonic::include_proto!("blangkon.catalog.v1");
        }
    }
    pub mod order {
        pub mod v1 {
            tonic::include_proto!("blangkon.order.v1");
        }
    }
    pub mod reporting {
        pub mod v1 {
            tonic::include_proto!("blangkon.reporting.v1");
        }
    }
    pub mod events {
        pub mod v1 {
            tonic::include_proto!("blangkon.events.v1");
        }
    }
}

pub use blangkon::catalog::v1 as catalog;
pub use blangkon::events::v1 as events;
pub use blangkon::order::v1 as order;
pub use blangkon::reporting::v1 as reporting;
pub use blangkon::vendor::v1 as vendor;
