//! The order lifecycle: placed → accepted | rejected → shipped → received
//! (BAST) → paid → completed; cancellation only before shipping.

pub use blangkon_domain::OrderStatus;

/// What someone does to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum Action {
    Accept,
    Reject,
    Ship,
    Receive,
    Pay,
    Complete,
    Cancel,
}

/// Who may take an action: the order's vendor or its buyer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Vendor,
    Buyer,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn party(self) -> Party {
        match self {
            Action::Accept | Action::Reject | Action::Ship => Party::Vendor,
            Action::Receive | Action::Pay | Action::Complete | Action::Cancel => Party::Buyer,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {} order cannot be {}", from.as_str(), past(*action))]
pub struct InvalidTransition {
    pub from: OrderStatus,
    pub action: Action,
}

fn past(action: Action) -> &'static str {
    match action {
        Action::Accept => "accepted",
        Action::Reject => "rejected",
        Action::Ship => "shipped",
        Action::Receive => "received",
        Action::Pay => "paid",
        Action::Complete => "completed",
        Action::Cancel => "cancelled",
    }
}

/// The transition table:
///
/// | from     | action   | to        | by     |
/// |----------|----------|-----------|--------|
/// | placed   | accept   | accepted  | vendor |
/// | placed   | reject   | rejected  | vendor |
/// | placed   | cancel   | cancelled | buyer  |
/// | accepted | cancel   | cancelled | buyer  |
/// | accepted | ship     | shipped   | vendor |
/// | shipped  | receive  | received  | buyer  |
/// | received | pay      | paid      | buyer  |
/// | paid     | complete | completed | buyer  |
pub fn next_status(from: OrderStatus, action: Action) -> Result<OrderStatus, InvalidTransition> {
    use Action::*;
    use OrderStatus::*;
    match (from, action) {
        (Placed, Accept) => Ok(Accepted),
        (Placed, Reject) => Ok(Rejected),
        (Placed | Accepted, Cancel) => Ok(Cancelled),
        (Accepted, Ship) => Ok(Shipped),
        (Shipped, Receive) => Ok(Received),
        (Received, Pay) => Ok(Paid),
        (Paid, Complete) => Ok(Completed),
        _ => Err(InvalidTransition { from, action }),
    }
}

/// Whether stock held for the order goes back to the catalog.
pub fn releases_stock(to: OrderStatus) -> bool {
    matches!(to, OrderStatus::Rejected | OrderStatus::Cancelled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use blangkon_domain::VariantArray;

    #[test]
    fn only_a_rejected_or_cancelled_order_gives_its_stock_back() {
        let releasing: Vec<OrderStatus> = OrderStatus::VARIANTS
            .iter()
            .copied()
            .filter(|s| releases_stock(*s))
            .collect();
        assert_eq!(releasing, [OrderStatus::Rejected, OrderStatus::Cancelled]);
    }

    #[test]
    fn each_action_is_named_as_the_api_calls_it() {
        let names: Vec<&str> = ACTIONS.into_iter().map(Action::as_str).collect();
        assert_eq!(
            names,
            [
                "accept", "reject", "ship", "receive", "pay", "complete", "cancel"
            ]
        );
    }

    const ACTIONS: [Action; 7] = [
        Action::Accept,
        Action::Reject,
        Action::Ship,
        Action::Receive,
        Action::Pay,
        Action::Complete,
        Action::Cancel,
    ];

    #[test]
    fn the_table_allows_exactly_its_eight_transitions() {
        let allowed: usize = OrderStatus::VARIANTS
            .iter()
            .map(|from| {
                ACTIONS
                    .iter()
                    .filter(|a| next_status(*from, **a).is_ok())
                    .count()
            })
            .sum();
        assert_eq!(allowed, 8);
    }

    #[test]
    fn the_happy_path_runs_from_placed_to_completed() {
        let mut status = OrderStatus::Placed;
        for action in [
            Action::Accept,
            Action::Ship,
            Action::Receive,
            Action::Pay,
            Action::Complete,
        ] {
            status = next_status(status, action).unwrap();
        }
        assert_eq!(status, OrderStatus::Completed);
    }

    #[test]
    fn a_shipped_order_cannot_be_cancelled() {
        let err = next_status(OrderStatus::Shipped, Action::Cancel).unwrap_err();
        assert_eq!(err.to_string(), "a shipped order cannot be cancelled");
    }

    #[test]
    fn vendors_accept_and_ship_buyers_receive_and_pay() {
        assert_eq!(Action::Ship.party(), Party::Vendor);
        assert_eq!(Action::Receive.party(), Party::Buyer);
        assert_eq!(Action::Cancel.party(), Party::Buyer);
    }

    #[test]
    fn actions_are_named_as_users_say_them() {
        let names: Vec<&str> = Action::VARIANTS.iter().map(|a| a.as_str()).collect();
        assert_eq!(
            names,
            [
                "accept", "reject", "ship", "receive", "pay", "complete", "cancel"
            ]
        );
    }
}
