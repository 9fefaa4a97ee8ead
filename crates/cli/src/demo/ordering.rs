//! Buyers place orders, and each goes as far as its plan says: accepted or
//! rejected, shipped, received, paid, completed, or cancelled.

use anyhow::Context as _;
use blangkon_proto::order as ord;
use tonic::{Code, Status};

use super::calendar::{OrderDays, at};
use super::plan::{OrderPlan, Outcome};

use super::*;

impl Suite {
    /// Places order `o` (or finds it, by its key) and takes it as far as
    /// its outcome, from wherever an earlier run left it.
    pub(super) async fn order(
        &self,
        o: &OrderPlan,
        days: &OrderDays,
        regency: &str,
        product_id: &str,
        vendor_id: &str,
    ) -> anyhow::Result<()> {
        let buyer = self.buyer(regency, &o.work_unit)?;
        let vendor = self.vendor_token(vendor_id)?;
        // The catalog may not have made the product searchable for orders
        // yet, or the vendor service its status.
        let not_yet = |s: &Status| s.code() == Code::FailedPrecondition;
        let placed = self
            .call("place", not_yet, || {
                let mut client = self.order.clone();
                let request = ord::PlaceOrderRequest {
                    idempotency_key: o.key.clone(),
                    lines: vec![ord::OrderLine {
                        product_id: product_id.into(),
                        quantity: o.quantity,
                    }],
                    note: String::new(),
                };
                let request = at(with_token(&buyer, request), days.placed);
                async move { client.place_order(request).await }
            })
            .await
            .with_context(|| format!("placing order {}", o.key))?;
        let id = placed.id.clone();
        let mut status =
            ord::OrderStatus::try_from(placed.status).unwrap_or(ord::OrderStatus::Placed);
        for step in steps(o.outcome) {
            if reached(status, *step) {
                continue;
            }
            let token = if matches!(step, Step::Accept | Step::Reject | Step::Ship) {
                &vendor
            } else {
                &buyer
            };
            let order = self
                .call(
                    "advance",
                    |_| false,
                    || {
                        let mut client = self.order.clone();
                        let (id, token) = (id.clone(), token.clone());
                        let order_id = id.clone();
                        let transition = move |note: &str| ord::TransitionRequest {
                            order_id: order_id.clone(),
                            note: note.into(),
                        };
                        let step = *step;
                        let key = o.key.clone();
                        let moment = match step {
                            Step::Accept | Step::Reject => days.decided,
                            Step::Cancel => days.cancelled,
                            Step::Ship => days.shipped,
                            Step::Receive => days.received,
                            Step::Pay => days.paid,
                            Step::Complete => days.completed,
                        };
                        let bast_date = days.received.format("%Y-%m-%d").to_string();
                        async move {
                            match step {
                                Step::Accept => {
                                    client
                                        .accept_order(at(
                                            with_token(&token, transition("")),
                                            moment,
                                        ))
                                        .await
                                }
                                Step::Reject => {
                                    client
                                        .reject_order(at(
                                            with_token(&token, transition("stok sedang kosong")),
                                            moment,
                                        ))
                                        .await
                                }
                                Step::Cancel => {
                                    client
                                        .cancel_order(at(
                                            with_token(&token, transition("kegiatan dibatalkan")),
                                            moment,
                                        ))
                                        .await
                                }
                                Step::Ship => {
                                    client
                                        .ship_order(at(with_token(&token, transition("")), moment))
                                        .await
                                }
                                Step::Receive => {
                                    let request = ord::ReceiveOrderRequest {
                                        order_id: id.clone(),
                                        bast_number: format!("BAST/{key}"),
                                        bast_date,
                                    };
                                    client
                                        .receive_order(at(with_token(&token, request), moment))
                                        .await
                                }
                                Step::Pay => {
                                    let request = ord::PayOrderRequest {
                                        order_id: id.clone(),
                                        payment_reference: format!("SP2D/{key}"),
                                    };
                                    client
                                        .pay_order(at(with_token(&token, request), moment))
                                        .await
                                }
                                Step::Complete => {
                                    client
                                        .complete_order(at(
                                            with_token(&token, transition("")),
                                            moment,
                                        ))
                                        .await
                                }
                            }
                        }
                    },
                )
                .await
                .with_context(|| format!("order {}: {step:?}", o.key))?;
            status = ord::OrderStatus::try_from(order.status).unwrap_or(status);
        }
        Ok(())
    }
}

/// One move of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Accept,
    Reject,
    Cancel,
    Ship,
    Receive,
    Pay,
    Complete,
}

fn steps(outcome: Outcome) -> &'static [Step] {
    const FULL: &[Step] = &[
        Step::Accept,
        Step::Ship,
        Step::Receive,
        Step::Pay,
        Step::Complete,
    ];
    match outcome {
        Outcome::Rejected => &[Step::Reject],
        Outcome::Cancelled => &[Step::Cancel],
        Outcome::Shipped => &FULL[..2],
        Outcome::Received => &FULL[..3],
        Outcome::Paid => &FULL[..4],
        Outcome::Completed => FULL,
    }
}

/// Whether an order in `status` is already past `step`.
fn reached(status: ord::OrderStatus, step: Step) -> bool {
    use ord::OrderStatus as S;
    let rank = |s: S| match s {
        S::Unspecified | S::Placed => 0,
        S::Accepted => 1,
        S::Shipped => 2,
        S::Received => 3,
        S::Paid => 4,
        S::Completed => 5,
        S::Rejected | S::Cancelled => 6,
    };
    let target = match step {
        Step::Accept => 1,
        Step::Ship => 2,
        Step::Receive => 3,
        Step::Pay => 4,
        Step::Complete => 5,
        Step::Reject | Step::Cancel => 6,
    };
    rank(status) >= target
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_resumes_from_where_it_stands() {
        use ord::OrderStatus as S;
        let left = |status: S, outcome: Outcome| -> Vec<Step> {
            steps(outcome)
                .iter()
                .copied()
                .filter(|s| !reached(status, *s))
                .collect()
        };
        assert_eq!(
            left(S::Placed, Outcome::Completed),
            [
                Step::Accept,
                Step::Ship,
                Step::Receive,
                Step::Pay,
                Step::Complete
            ]
        );
        assert_eq!(
            left(S::Received, Outcome::Completed),
            [Step::Pay, Step::Complete]
        );
        assert_eq!(left(S::Completed, Outcome::Completed), []);
        assert_eq!(left(S::Placed, Outcome::Rejected), [Step::Reject]);
        assert_eq!(left(S::Rejected, Outcome::Rejected), []);
        assert_eq!(left(S::Shipped, Outcome::Shipped), []);
    }
}
