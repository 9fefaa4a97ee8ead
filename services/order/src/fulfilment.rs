//! An order's way after placing: its vendor accepts (or rejects) and ships
//! it; its buyer receives it against a BAST (*Berita Acara Serah Terima*,
//! the handover record), pays, completes it, or cancels it before
//! shipping. Every step is recorded with its actor and announced; stock
//! goes back to the catalog when an order ends unfulfilled.

use blangkon_domain::{Actor, OrderId};
use blangkon_platform::{db, outbox, time};
use chrono::NaiveDate;

use crate::Orders;
use crate::domain::lifecycle::{Action, next_status, releases_stock};
use crate::error::{OrderError, Result};
use crate::events::{self, Transition};
use crate::placing::OrderRecord;
use crate::policy::{self, OrderRef};
use crate::store::{self, order};

/// Longest note a step may carry, and longest BAST number or payment
/// reference.
const MAX_NOTE: usize = 1000;
const MAX_REFERENCE: usize = 100;

/// A step in an order's life, with what the step records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Accept,
    Reject,
    Ship,
    /// The buyer received the goods, as its BAST records.
    Receive {
        bast_number: String,
        bast_date: NaiveDate,
    },
    /// The buyer paid; the reference of its payment order (SP2D).
    Pay {
        reference: String,
    },
    Complete,
    Cancel,
}

impl Step {
    pub fn action(&self) -> Action {
        match self {
            Step::Accept => Action::Accept,
            Step::Reject => Action::Reject,
            Step::Ship => Action::Ship,
            Step::Receive { .. } => Action::Receive,
            Step::Pay { .. } => Action::Pay,
            Step::Complete => Action::Complete,
            Step::Cancel => Action::Cancel,
        }
    }

    /// A receipt, its fields checked: a BAST number of 1 to 100
    /// characters, a date (`YYYY-MM-DD`) not after `today`.
    pub fn receive(number: &str, date: &str, today: NaiveDate) -> Result<Self> {
        let mut v = Vec::new();
        let number = number.trim();
        if number.is_empty() || number.chars().count() > MAX_REFERENCE {
            v.push(blangkon_domain::validation::Violation::new(
                "bast_number",
                format!("must be 1 to {MAX_REFERENCE} characters"),
            ));
        }
        let date = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").ok();
        match date {
            None => v.push(blangkon_domain::validation::Violation::new(
                "bast_date",
                "must be a date YYYY-MM-DD",
            )),
            Some(d) if d > today => v.push(blangkon_domain::validation::Violation::new(
                "bast_date",
                "must not be in the future",
            )),
            Some(_) => {}
        }
        match date {
            Some(bast_date) if v.is_empty() => Ok(Step::Receive {
                bast_number: number.to_string(),
                bast_date,
            }),
            _ => Err(OrderError::Invalid(v)),
        }
    }

    /// A payment, its reference of 1 to 100 characters.
    pub fn pay(reference: &str) -> Result<Self> {
        let reference = reference.trim();
        if reference.is_empty() || reference.chars().count() > MAX_REFERENCE {
            return Err(OrderError::invalid(
                "payment_reference",
                format!("must be 1 to {MAX_REFERENCE} characters"),
            ));
        }
        Ok(Step::Pay {
            reference: reference.to_string(),
        })
    }

    /// What the history records of the step: the BAST number or payment
    /// reference, else the caller's note.
    fn note(&self, note: &str) -> String {
        match self {
            Step::Receive { bast_number, .. } => format!("BAST {bast_number}"),
            Step::Pay { reference } => format!("payment {reference}"),
            _ => note.to_string(),
        }
    }

    fn apply(&self, order: &mut order::Model) {
        match self {
            Step::Receive {
                bast_number,
                bast_date,
            } => {
                order.bast_number = Some(bast_number.clone());
                order.bast_date = Some(*bast_date);
            }
            Step::Pay { reference } => order.payment_reference = Some(reference.clone()),
            _ => {}
        }
    }
}

/// A note a step may carry: at most 1000 characters, blanks around it
/// dropped.
pub fn step_note(note: &str) -> Result<String> {
    let note = note.trim();
    if note.chars().count() > MAX_NOTE {
        return Err(OrderError::invalid(
            "note",
            format!("must be at most {MAX_NOTE} characters"),
        ));
    }
    Ok(note.to_string())
}

impl Orders {
    /// Takes `step` on the order, as its vendor or buyer.
    pub async fn take_step(
        &self,
        actor: &Actor,
        order_id: OrderId,
        step: Step,
        note: &str,
    ) -> Result<OrderRecord> {
        let order_id = order_id.to_string();
        let action = step.action();
        let before = store::find_order(&self.db, &order_id)
            .await?
            .ok_or_else(|| OrderError::NotFound(format!("order {order_id}")))?;
        policy::act_on(actor, order_ref(&before), action)?;
        let from = before.status;
        let to = next_status(from, action)?;
        if releases_stock(to) {
            // Give the stock back first: if that fails the order stays as it
            // was and the caller retries; releasing twice is harmless.
            if let Some(key) = store::find_key_of_order(&self.db, &order_id).await? {
                self.peers.release(&key.reservation()).await?;
            }
        }
        let at = time::occurred_now();
        let mut after = order::Model {
            status: to,
            version: before.version + 1,
            updated_at: at,
            ..before.clone()
        };
        step.apply(&mut after);
        let note = step.note(note);
        let items = store::items(&self.db, &order_id).await?;
        let txn = db::begin_write(&self.db).await?;
        if !store::update_order(&txn, after.clone()).await? {
            return Err(OrderError::Changed(format!("order {order_id}")));
        }
        store::insert_history(
            &txn,
            store::history::Model {
                id: uuid::Uuid::now_v7().to_string(),
                order_id: order_id.clone(),
                from_status: Some(from),
                to_status: to,
                actor: actor.subject.clone(),
                actor_role: actor.role_name().into(),
                note: note.clone(),
                changed_at: at,
            },
        )
        .await?;
        outbox::enqueue(
            &txn,
            events::order_event(
                &after,
                &items,
                Transition {
                    previous: Some(from.as_str()),
                    actor_role: actor.role_name(),
                    note: &note,
                    at,
                },
            ),
        )
        .await?;
        txn.commit().await?;
        self.relay.wake();
        self.counts.reached(to.as_str());
        // The items were read above; only the history grew.
        let history = store::history(&self.db, &order_id).await?;
        Ok(OrderRecord {
            order: after,
            items,
            history,
        })
    }
}

/// An order as the policy sees it.
pub(crate) fn order_ref(row: &order::Model) -> OrderRef<'_> {
    OrderRef {
        buyer_regency: &row.buyer_regency,
        buyer_work_unit: &row.buyer_work_unit,
        vendor_id: &row.vendor_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
    }

    fn fields(err: OrderError) -> Vec<String> {
        match err {
            OrderError::Invalid(v) => v.into_iter().map(|v| v.field).collect(),
            other => panic!("not invalid: {other}"),
        }
    }

    #[test]
    fn a_receipt_names_its_bast_and_a_date_not_in_the_future() {
        assert_eq!(
            Step::receive(" BAST/027/2026 ", "2026-11-20", today()).unwrap(),
            Step::Receive {
                bast_number: "BAST/027/2026".into(),
                bast_date: today(),
            }
        );
        let err = Step::receive("", "2026-11-21", today()).unwrap_err();
        assert_eq!(fields(err), ["bast_number", "bast_date"]);
        let err = Step::receive(&"x".repeat(101), "20-11-2026", today()).unwrap_err();
        assert_eq!(fields(err), ["bast_number", "bast_date"]);
        assert!(Step::receive(&"x".repeat(100), "2026-01-01", today()).is_ok());
    }

    #[test]
    fn a_payment_names_its_reference_and_the_history_records_it() {
        let pay = Step::pay(" SP2D-0001 ").unwrap();
        assert_eq!(pay.note("ignored"), "payment SP2D-0001");
        assert_eq!(fields(Step::pay(" ").unwrap_err()), ["payment_reference"]);
        assert_eq!(
            fields(Step::pay(&"x".repeat(101)).unwrap_err()),
            ["payment_reference"]
        );
        assert_eq!(Step::Ship.note(" as noted "), " as noted ");
        assert_eq!(step_note(" late ").unwrap(), "late");
        assert_eq!(fields(step_note(&"x".repeat(1001)).unwrap_err()), ["note"]);
        assert!(step_note(&"é".repeat(1000)).is_ok());
    }
}
