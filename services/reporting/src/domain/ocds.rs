//! Open Contracting Data Standard 1.1: one release per order, describing
//! the direct purchase from the e-catalog as an award to the vendor and the
//! contract that follows, with its payment once recorded.
//!
//! Status mapping (OCDS closed codelists):
//!
//! | order     | award        | contract   |
//! |-----------|--------------|------------|
//! | placed    | pending      | pending    |
//! | accepted, shipped, received, paid | active | active |
//! | completed | active       | terminated |
//! | rejected  | unsuccessful | cancelled  |
//! | cancelled | cancelled    | cancelled  |

use blangkon_domain::OrderStatus;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::figures::{ItemFacts, OrderFacts};
use super::records::{Names, rfc3339};

/// Who publishes, and where.
#[derive(Debug, Clone)]
pub struct Publisher {
    pub ocid_prefix: String,
    pub name: String,
    pub package_uri_base: String,
}

fn award_status(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Placed => "pending",
        OrderStatus::Rejected => "unsuccessful",
        OrderStatus::Cancelled => "cancelled",
        OrderStatus::Accepted
        | OrderStatus::Shipped
        | OrderStatus::Received
        | OrderStatus::Paid
        | OrderStatus::Completed => "active",
    }
}

fn contract_status(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Placed => "pending",
        OrderStatus::Completed => "terminated",
        OrderStatus::Rejected | OrderStatus::Cancelled => "cancelled",
        OrderStatus::Accepted
        | OrderStatus::Shipped
        | OrderStatus::Received
        | OrderStatus::Paid => "active",
    }
}

fn money(amount: i64) -> Value {
    json!({ "amount": amount, "currency": "IDR" })
}

/// The party id of a buying work unit: its regency and its name, which
/// together identify it on the platform.
fn buyer_id(order: &OrderFacts) -> String {
    format!(
        "blangkon-buyer-{}-{}",
        order.buyer_regency, order.buyer_work_unit
    )
}

fn supplier_id(order: &OrderFacts) -> String {
    format!("blangkon-vendor-{}", order.vendor_id)
}

/// The release of `order` as it stands.
pub fn release(publisher: &Publisher, order: &OrderFacts, names: &Names) -> Value {
    let ocid = format!("{}-{}", publisher.ocid_prefix, order.order_id);
    let buyer = json!({ "id": buyer_id(order), "name": order.buyer_work_unit });
    let supplier_name = if names.vendor.is_empty() {
        format!("Vendor {}", order.vendor_id)
    } else {
        names.vendor.clone()
    };
    let supplier = json!({ "id": supplier_id(order), "name": supplier_name });
    let items: Vec<Value> = order.items.iter().map(item).collect();
    let award_id = format!("{}-award", order.order_id);
    let mut contract = json!({
        "id": format!("{}-contract", order.order_id),
        "awardID": award_id,
        "title": format!("Pembelian langsung e-katalog Blangkon {}", order.order_id),
        "status": contract_status(order.status),
        "value": money(order.total),
        "items": items,
    });
    if let Some(paid_at) = order.paid_at {
        contract["implementation"] = json!({
            "transactions": [{
                "id": format!("{}-payment", order.order_id),
                "source": publisher.package_uri_base,
                "date": rfc3339(paid_at),
                "value": money(order.total),
                "payer": buyer,
                "payee": supplier,
            }]
        });
    }
    let mut tag = vec!["award", "contract"];
    if order.paid_at.is_some() {
        tag.push("implementation");
    }
    json!({
        "ocid": ocid,
        "id": format!("{ocid}-{}", order.version),
        "date": rfc3339(order.changed_at),
        "tag": tag,
        "initiationType": "tender",
        "language": "id",
        "parties": [
            party(&buyer, "buyer", &order.buyer_regency, &names.buyer_regency),
            party(&supplier, "supplier", &order.vendor_regency, &names.vendor_regency),
        ],
        "buyer": buyer,
        "tender": {
            "id": format!("{}-tender", order.order_id),
            "title": "Pembelian langsung melalui e-katalog Blangkon",
            "status": "complete",
            "procurementMethod": "direct",
            "procurementMethodDetails": "E-purchasing: direct purchase from the Blangkon e-catalog",
        },
        "awards": [{
            "id": award_id,
            "status": award_status(order.status),
            "date": rfc3339(order.placed_at),
            "value": money(order.total),
            "suppliers": [supplier],
            "items": contract["items"].clone(),
        }],
        "contracts": [contract],
    })
}

/// An item of the order: a product line at its price per unit.
fn item(item: &ItemFacts) -> Value {
    json!({
        "id": item.product_id,
        "description": item.name,
        "classification": {
            "scheme": "Blangkon",
            "id": item.category_code,
            "description": format!("Blangkon e-catalog category {}", item.category_code),
        },
        "quantity": item.quantity,
        "unit": {
            "name": item.unit,
            "value": money(item.unit_price),
        },
    })
}

/// An organization of the release (`reference`: its id and name) in its
/// one role, located in its regency: "Kota Semarang (33.74)", or the
/// code alone where reporting knows no name.
fn party(reference: &Value, role: &str, regency_code: &str, regency_name: &str) -> Value {
    let region = if regency_name.is_empty() {
        regency_code.to_string()
    } else {
        format!("{regency_name} ({regency_code})")
    };
    json!({
        "id": reference["id"],
        "name": reference["name"],
        "roles": [role],
        "address": {
            "region": region,
            "countryName": "Indonesia",
        },
    })
}

/// A release package holding `releases`: one page of a period's export,
/// the page named by the token that asked for it.
pub fn package(
    publisher: &Publisher,
    period_slug: &str,
    page_token: &str,
    published_at: DateTime<Utc>,
    releases: Vec<Value>,
) -> Value {
    let base = publisher.package_uri_base.trim_end_matches('/');
    let uri = if page_token.is_empty() {
        format!("{base}/releases/{period_slug}.json")
    } else {
        format!("{base}/releases/{period_slug}.json?page_token={page_token}")
    };
    json!({
        "uri": uri,
        "version": "1.1",
        "publishedDate": rfc3339(published_at),
        "publisher": { "name": publisher.name },
        "license": "https://creativecommons.org/licenses/by/4.0/",
        "releases": releases,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::figures::tests::order;

    fn publisher() -> Publisher {
        Publisher {
            ocid_prefix: "ocds-bkjtg1".into(),
            name: "Pemprov Jateng".into(),
            package_uri_base: "https://example.org/ocds".into(),
        }
    }

    #[test]
    fn an_order_is_one_release_with_award_and_contract() {
        let mut o = order("paid", 5);
        o.paid_at = Some(o.changed_at);
        let r = release(&publisher(), &o, &Names::default());
        assert_eq!(r["ocid"], "ocds-bkjtg1-o-1");
        assert_eq!(r["id"], "ocds-bkjtg1-o-1-5");
        assert_eq!(r["awards"][0]["value"]["amount"], 1_500_000);
        assert_eq!(r["awards"][0]["status"], "active");
        assert_eq!(
            r["contracts"][0]["items"][1]["unit"]["value"]["amount"],
            500_000
        );
        assert_eq!(
            r["contracts"][0]["implementation"]["transactions"][0]["value"]["currency"],
            "IDR"
        );
        assert_eq!(r["tag"], json!(["award", "contract", "implementation"]));
        let cancelled = release(&publisher(), &order("cancelled", 1), &Names::default());
        assert_eq!(cancelled["contracts"][0]["status"], "cancelled");
        assert!(cancelled["contracts"][0].get("implementation").is_none());
    }
}
