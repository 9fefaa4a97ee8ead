//! Where an order is in its lifecycle. The transitions between statuses
//! are the order service's (`domain::lifecycle`); the statuses themselves
//! are read by reporting too.

use blangkon_proto::order as pb;
use sea_orm::entity::prelude::*;

/// Status of an order.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[strum(serialize_all = "snake_case")]
pub enum OrderStatus {
    #[sea_orm(string_value = "placed")]
    Placed,
    #[sea_orm(string_value = "accepted")]
    Accepted,
    #[sea_orm(string_value = "rejected")]
    Rejected,
    #[sea_orm(string_value = "shipped")]
    Shipped,
    /// The buyer signed the handover (BAST).
    #[sea_orm(string_value = "received")]
    Received,
    #[sea_orm(string_value = "paid")]
    Paid,
    #[sea_orm(string_value = "completed")]
    Completed,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

impl OrderStatus {
    /// The code stored in the databases and the analyst streams.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether the order counts as a transaction: every status but a
    /// refusal or a cancellation.
    pub fn is_transaction(self) -> bool {
        !matches!(self, OrderStatus::Rejected | OrderStatus::Cancelled)
    }

    /// The value a protobuf enum number names; `None` for UNSPECIFIED and
    /// numbers this build does not know.
    pub fn from_proto(value: i32) -> Option<Self> {
        match pb::OrderStatus::try_from(value).ok()? {
            pb::OrderStatus::Unspecified => None,
            pb::OrderStatus::Placed => Some(OrderStatus::Placed),
            pb::OrderStatus::Accepted => Some(OrderStatus::Accepted),
            pb::OrderStatus::Rejected => Some(OrderStatus::Rejected),
            pb::OrderStatus::Shipped => Some(OrderStatus::Shipped),
            pb::OrderStatus::Received => Some(OrderStatus::Received),
            pb::OrderStatus::Paid => Some(OrderStatus::Paid),
            pb::OrderStatus::Completed => Some(OrderStatus::Completed),
            pb::OrderStatus::Cancelled => Some(OrderStatus::Cancelled),
        }
    }

    pub fn to_proto(self) -> pb::OrderStatus {
        match self {
            OrderStatus::Placed => pb::OrderStatus::Placed,
            OrderStatus::Accepted => pb::OrderStatus::Accepted,
            OrderStatus::Rejected => pb::OrderStatus::Rejected,
            OrderStatus::Shipped => pb::OrderStatus::Shipped,
            OrderStatus::Received => pb::OrderStatus::Received,
            OrderStatus::Paid => pb::OrderStatus::Paid,
            OrderStatus::Completed => pb::OrderStatus::Completed,
            OrderStatus::Cancelled => pb::OrderStatus::Cancelled,
        }
    }
}

stored_code!(OrderStatus);

#[cfg(test)]
mod tests {
    use super::*;
    use strum::VariantArray;

    #[test]
    fn every_status_is_stored_as_its_code_and_read_back() {
        for status in OrderStatus::VARIANTS.iter().copied() {
            assert_eq!(status.to_value(), status.as_str());
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
            assert_eq!(
                OrderStatus::from_proto(status.to_proto() as i32),
                Some(status)
            );
        }
        assert_eq!(OrderStatus::from_proto(0), None);
        assert_eq!(OrderStatus::parse("PAID"), None);
        assert_eq!(OrderStatus::Received.to_string(), "received");
    }

    #[test]
    fn refused_and_cancelled_orders_are_no_transactions() {
        let not: Vec<_> = OrderStatus::VARIANTS
            .iter()
            .copied()
            .filter(|s| !s.is_transaction())
            .collect();
        assert_eq!(not, [OrderStatus::Rejected, OrderStatus::Cancelled]);
    }
}
