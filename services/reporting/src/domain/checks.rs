//! What an event must hold before the projection stores it: ids that are
//! ids, regency codes that are codes, bounded text, amounts that add up,
//! each checked with the domain's own types. The services publish nothing
//! else; an event that fails is no event of theirs (a bug, a stray
//! producer, a damaged record), and goes to the dead letters with the
//! fields named instead of into the figures the public reads.

use blangkon_domain::validation::{FieldViolationExt, Violation, describe};
use blangkon_domain::{OrderId, ProductId, RegencyCode, Rupiah, VendorId};
use blangkon_proto::events as pb;

use super::figures::OrderFacts;

/// Most characters of a name, a unit, a work unit, a topic.
const MAX_TEXT: usize = 300;
/// Most characters of a code: a category, a kind, a legal form, a scale.
const MAX_CODE: usize = 100;

/// The violations of one event, gathered field by field.
#[derive(Default)]
struct Checks(Vec<Violation>);

impl Checks {
    fn check<T, E: std::fmt::Display>(&mut self, field: &str, parsed: Result<T, E>) {
        if let Err(v) = parsed.field(field) {
            self.0.push(v);
        }
    }

    fn regency(&mut self, field: &str, code: &str) {
        self.check(field, RegencyCode::parse(code));
    }

    /// Text of at most `max` characters; at least one when `required`.
    fn text(&mut self, field: &str, value: &str, max: usize, required: bool) {
        let chars = value.chars().count();
        if chars > max || (required && value.trim().is_empty()) {
            let least = usize::from(required);
            self.0.push(Violation::new(
                field,
                format!("must hold {least} to {max} characters"),
            ));
        }
    }

    fn at_least(&mut self, field: &str, value: i64, least: i64) {
        if value < least {
            self.0
                .push(Violation::new(field, format!("must be at least {least}")));
        }
    }

    fn done(self) -> Result<(), String> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(describe(&self.0))
        }
    }
}

pub fn regency_joined(e: &pb::RegencyJoined) -> Result<(), String> {
    let mut c = Checks::default();
    c.regency("regency_code", &e.regency_code);
    c.text("regency_name", &e.regency_name, MAX_TEXT, true);
    c.done()
}

/// A registration's name (its ids are checked with the vendor's state).
pub fn vendor_name(name: &str) -> Result<(), String> {
    let mut c = Checks::default();
    c.text("name", name, MAX_TEXT, true);
    c.done()
}

pub fn training(e: &pb::TrainingRecorded) -> Result<(), String> {
    let mut c = Checks::default();
    c.text("training_id", &e.training_id, MAX_CODE, true);
    c.check("vendor_id", VendorId::parse(&e.vendor_id));
    c.text("kind", &e.kind, MAX_CODE, true);
    c.done()
}

pub fn product(p: &pb::CatalogProduct) -> Result<(), String> {
    let mut c = Checks::default();
    c.check("product.product_id", ProductId::parse(&p.product_id));
    c.check("product.vendor_id", VendorId::parse(&p.vendor_id));
    c.text("product.category_code", &p.category_code, MAX_CODE, true);
    c.done()
}

/// An order's facts: its ids, regencies and text, and money that adds up
/// (each line quantity times price, the total their sum) as the order
/// service computed it.
pub fn order(o: &OrderFacts) -> Result<(), String> {
    let mut c = Checks::default();
    c.check("order.order_id", OrderId::parse(&o.order_id));
    c.at_least("order.version", o.version, 0);
    c.text("order.buyer_work_unit", &o.buyer_work_unit, MAX_TEXT, true);
    c.regency("order.buyer_regency", &o.buyer_regency);
    c.check("order.vendor_id", VendorId::parse(&o.vendor_id));
    c.text("order.vendor_name", &o.vendor_name, MAX_TEXT, false);
    c.regency("order.vendor_regency", &o.vendor_regency);
    c.text("order.vendor_legal_form", &o.legal_form, MAX_CODE, false);
    c.text("order.vendor_scale", &o.scale, MAX_CODE, false);
    if !o.bast_date.is_empty()
        && chrono::NaiveDate::parse_from_str(&o.bast_date, "%Y-%m-%d").is_err()
    {
        c.0.push(Violation::new(
            "order.bast_date",
            "must be a date, YYYY-MM-DD",
        ));
    }
    if o.items.is_empty() {
        c.0.push(Violation::new("order.items", "must hold at least one line"));
    }
    let mut sum = Some(Rupiah::ZERO);
    for (i, item) in o.items.iter().enumerate() {
        let field = |name: &str| format!("order.items[{i}].{name}");
        c.check(&field("product_id"), ProductId::parse(&item.product_id));
        c.text(&field("name"), &item.name, MAX_TEXT, true);
        c.text(&field("category_code"), &item.category_code, MAX_CODE, true);
        c.text(&field("unit"), &item.unit, MAX_TEXT, false);
        c.at_least(&field("quantity"), item.quantity, 1);
        c.at_least(&field("unit_price"), item.unit_price, 0);
        let line = Rupiah::new(item.unit_price).checked_mul(item.quantity);
        if line != Some(Rupiah::new(item.line_total)) {
            c.0.push(Violation::new(
                field("line_total"),
                "must be the quantity times the unit price",
            ));
        }
        sum = sum.and_then(|s| s.checked_add(Rupiah::new(item.line_total)));
    }
    if sum != Some(Rupiah::new(o.total)) {
        c.0.push(Violation::new(
            "order.total",
            "must be the sum of the line totals",
        ));
    }
    c.done()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::figures::ItemFacts;
    use blangkon_domain::OrderStatus;
    use chrono::Utc;

    const ID: &str = "01934a1e-0000-7000-8000-000000000001";

    fn order_facts() -> OrderFacts {
        OrderFacts {
            order_id: ID.into(),
            version: 0,
            status: OrderStatus::Placed,
            buyer_work_unit: "Dinas Pendidikan".into(),
            buyer_regency: "33.74".into(),
            vendor_id: ID.into(),
            vendor_name: "CV Sari Rasa".into(),
            vendor_regency: "33.22".into(),
            legal_form: "cv".into(),
            scale: "small".into(),
            total: 2_750_000,
            placed_at: Utc::now(),
            changed_at: Utc::now(),
            bast_date: String::new(),
            paid_at: None,
            items: vec![
                ItemFacts {
                    product_id: ID.into(),
                    name: "Nasi kotak".into(),
                    category_code: "katering.nasi-kotak".into(),
                    unit: "kotak".into(),
                    quantity: 100,
                    unit_price: 25_000,
                    line_total: 2_500_000,
                },
                ItemFacts {
                    product_id: "01934a1e-0000-7000-8000-000000000002".into(),
                    name: "Snack box".into(),
                    category_code: "katering.snack".into(),
                    unit: "kotak".into(),
                    quantity: 25,
                    unit_price: 10_000,
                    line_total: 250_000,
                },
            ],
        }
    }

    #[test]
    fn an_order_as_the_order_service_publishes_it_passes() {
        assert_eq!(order(&order_facts()), Ok(()));
        let received = OrderFacts {
            bast_date: "2026-12-01".into(),
            ..order_facts()
        };
        assert_eq!(order(&received), Ok(()));
    }

    #[test]
    fn an_order_that_is_not_valid_is_refused_naming_each_field() {
        let mut o = order_facts();
        // The order id the issue found: 50 characters where a UUID has 36.
        o.order_id = "x".repeat(50);
        o.buyer_regency = "33.74.01".into();
        o.bast_date = "1 Desember".into();
        o.items[1].quantity = 0;
        let refused = order(&o).unwrap_err();
        for field in [
            "order.order_id",
            "order.buyer_regency",
            "order.bast_date",
            "order.items[1].quantity",
            "order.items[1].line_total",
        ] {
            assert!(refused.contains(field), "{field} not in {refused}");
        }
        let mut o = order_facts();
        o.total += 1;
        assert_eq!(
            order(&o),
            Err("order.total must be the sum of the line totals".into())
        );
        let overflowing = OrderFacts {
            items: vec![ItemFacts {
                quantity: i64::MAX,
                unit_price: 3,
                line_total: 0,
                ..order_facts().items[0].clone()
            }],
            total: 0,
            ..order_facts()
        };
        assert!(order(&overflowing).unwrap_err().contains("line_total"));
        let empty = OrderFacts {
            items: Vec::new(),
            total: 0,
            ..order_facts()
        };
        assert_eq!(
            order(&empty),
            Err("order.items must hold at least one line".into())
        );
    }

    #[test]
    fn regencies_trainings_and_products_are_checked() {
        let joined = pb::RegencyJoined {
            regency_code: "33.74".repeat(9),
            regency_name: String::new(),
            ..Default::default()
        };
        assert_eq!(
            regency_joined(&joined),
            Err("regency_code must be a regency code like 33.74; \
                 regency_name must hold 1 to 300 characters"
                .into())
        );
        let fine = pb::RegencyJoined {
            regency_code: "33.74".into(),
            regency_name: "Kota Semarang".into(),
            ..Default::default()
        };
        assert_eq!(regency_joined(&fine), Ok(()));
        let training = pb::TrainingRecorded {
            training_id: ID.into(),
            vendor_id: "not-a-vendor".into(),
            kind: "training".into(),
            ..Default::default()
        };
        assert!(
            super::training(&training)
                .unwrap_err()
                .starts_with("vendor_id")
        );
        let product = pb::CatalogProduct {
            product_id: ID.into(),
            vendor_id: ID.into(),
            category_code: "k".repeat(101),
            ..Default::default()
        };
        assert!(
            super::product(&product)
                .unwrap_err()
                .starts_with("product.category_code")
        );
        assert!(vendor_name(&"n".repeat(301)).is_err());
        assert!(vendor_name("UD Makmur").is_ok());
    }
}
