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
use super::records::Names;

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

/// What a release of an order in `status` tells, as OCDS release tags:
/// each version of an order is one release, whole, tagged with the step
/// it records.
fn tags(status: OrderStatus) -> &'static [&'static str] {
    match status {
        OrderStatus::Placed => &["award"],
        OrderStatus::Accepted => &["awardUpdate", "contract"],
        OrderStatus::Shipped => &["contractUpdate"],
        OrderStatus::Received | OrderStatus::Paid => &["implementation"],
        OrderStatus::Completed => &["contractTermination"],
        OrderStatus::Rejected | OrderStatus::Cancelled => &["awardCancellation"],
    }
}

/// Every OCDS date in one format and precision (UTC, microseconds): two
/// versions of an order never share one, which merging needs.
pub fn ocds_date(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
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
    let ocid = ocid(publisher, &order.order_id);
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
                "date": ocds_date(paid_at),
                "value": money(order.total),
                "payer": buyer,
                "payee": supplier,
            }]
        });
    }
    // Once paid, the payment's payer and payee are parties in those roles.
    let (buyer_roles, supplier_roles): (&[&str], &[&str]) = if order.paid_at.is_some() {
        (&["buyer", "payer"], &["supplier", "payee"])
    } else {
        (&["buyer"], &["supplier"])
    };
    json!({
        "ocid": ocid,
        "id": format!("{ocid}-{}", order.version),
        "date": ocds_date(order.changed_at),
        "tag": tags(order.status),
        "initiationType": "tender",
        "language": "id",
        "parties": [
            party(&buyer, buyer_roles, &order.buyer_regency, &names.buyer_regency),
            party(&supplier, supplier_roles, &order.vendor_regency, &names.vendor_regency),
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
            "date": ocds_date(order.placed_at),
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
/// roles, located in its regency: "Kota Semarang (33.74)", or the
/// code alone where reporting knows no name.
fn party(reference: &Value, roles: &[&str], regency_code: &str, regency_name: &str) -> Value {
    let region = if regency_name.is_empty() {
        regency_code.to_string()
    } else {
        format!("{regency_name} ({regency_code})")
    };
    json!({
        "id": reference["id"],
        "name": reference["name"],
        "roles": roles,
        "address": {
            "region": region,
            "countryName": "Indonesia",
        },
    })
}

/// A release package holding `releases`: one page of a period's export,
/// the page named by the token that asked for it (the gRPC export).
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
    release_package(
        publisher,
        &Published::at(base, uri, published_at),
        releases,
        None,
    )
}

/// The OCDS Pagination extension, which `links` of a package comes from.
pub const PAGINATION_EXTENSION: &str = "https://raw.githubusercontent.com/open-contracting-extensions/ocds_pagination_extension/master/extension.json";

/// The licence of every package: attribution only (Open Definition
/// conformant).
pub const LICENSE: &str = "https://creativecommons.org/licenses/by/4.0/";

/// Where and when a package is published.
#[derive(Debug, Clone)]
pub struct Published {
    /// The OCDS base URL (`…/ocds`): the publication policy is under it.
    pub base: String,
    /// The package's own URL.
    pub uri: String,
    /// The last change to its contents.
    pub at: DateTime<Utc>,
}

impl Published {
    pub fn at(base: &str, uri: String, at: DateTime<Utc>) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            uri,
            at,
        }
    }

    fn policy(&self) -> String {
        format!("{}/publication-policy", self.base)
    }
}

/// A release package of `releases`; `next`, the next page's URL, goes in
/// `links` (the Pagination extension, declared).
pub fn release_package(
    publisher: &Publisher,
    published: &Published,
    releases: Vec<Value>,
    next: Option<String>,
) -> Value {
    let mut package = json!({
        "uri": published.uri,
        "version": "1.1",
        "publishedDate": ocds_date(published.at),
        "publisher": { "name": publisher.name },
        "license": LICENSE,
        "publicationPolicy": published.policy(),
        "releases": releases,
    });
    if let Some(next) = next {
        package["extensions"] = json!([PAGINATION_EXTENSION]);
        package["links"] = json!({ "next": next });
    }
    package
}

/// A record package of one record per `(ocid, releases)`: its releases
/// embedded, oldest first, and the compiled release.
pub fn record_package(
    publisher: &Publisher,
    published: &Published,
    records: Vec<(String, Vec<Value>)>,
) -> Value {
    let records: Vec<Value> = records
        .into_iter()
        .map(|(ocid, releases)| {
            let compiled = compile(&ocid, &releases);
            json!({ "ocid": ocid, "releases": releases, "compiledRelease": compiled })
        })
        .collect();
    json!({
        "uri": published.uri,
        "version": "1.1",
        "publishedDate": ocds_date(published.at),
        "publisher": { "name": publisher.name },
        "license": LICENSE,
        "publicationPolicy": published.policy(),
        "records": records,
    })
}

/// The ocid of an order.
pub fn ocid(publisher: &Publisher, order_id: &str) -> String {
    format!("{}-{order_id}", publisher.ocid_prefix)
}

/// The compiled release of one `ocid` from its releases, oldest first, by
/// OCDS 1.1's merge rules: objects merge field by field, a newer value
/// replaces an older one and `null` removes it; an array of objects that
/// each have an `id` merges by `id` (a match merged, a newcomer appended);
/// any other array, and the lists the schema marks `wholeListMerge`, are
/// replaced whole. `id`, `date` and `tag` are not merged: the compiled
/// release is tagged `compiled`, dated as the newest release and named
/// `{ocid}-{date}`.
pub fn compile(ocid: &str, releases: &[Value]) -> Value {
    let mut compiled = Value::Object(serde_json::Map::new());
    let mut date = Value::Null;
    for release in releases {
        let Some(fields) = release.as_object() else {
            continue;
        };
        for (key, value) in fields {
            match key.as_str() {
                "id" | "tag" => {}
                "date" => date = value.clone(),
                _ => merge_field(&mut compiled, key, value),
            }
        }
    }
    let newest = date.as_str().unwrap_or_default().to_string();
    compiled["ocid"] = json!(ocid);
    compiled["id"] = json!(format!("{ocid}-{newest}"));
    compiled["date"] = date;
    compiled["tag"] = json!(["compiled"]);
    compiled
}

/// The lists OCDS 1.1.5 replaces whole even though their objects have an
/// `id` (`wholeListMerge`).
const WHOLE_LIST: [&str; 2] = ["additionalIdentifiers", "additionalClassifications"];

fn merge_field(target: &mut Value, key: &str, incoming: &Value) {
    let Some(object) = target.as_object_mut() else {
        return;
    };
    if incoming.is_null() {
        object.remove(key);
        return;
    }
    match (object.get_mut(key), incoming) {
        (Some(existing @ Value::Object(_)), Value::Object(fields)) => {
            for (k, v) in fields {
                merge_field(existing, k, v);
            }
        }
        (Some(Value::Array(existing)), Value::Array(items))
            if !WHOLE_LIST.contains(&key) && identified(items) =>
        {
            for item in items {
                match existing.iter_mut().find(|e| e.get("id") == item.get("id")) {
                    Some(matched) => {
                        for (k, v) in item.as_object().into_iter().flatten() {
                            merge_field(matched, k, v);
                        }
                    }
                    None => existing.push(without_nulls(item)),
                }
            }
        }
        _ => {
            object.insert(key.to_string(), without_nulls(incoming));
        }
    }
}

/// Whether every item is an object with an `id`: a list merged by id.
fn identified(items: &[Value]) -> bool {
    !items.is_empty()
        && items
            .iter()
            .all(|i| i.get("id").is_some_and(|id| !id.is_null()))
}

fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
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
        assert_eq!(r["tag"], json!(["implementation"]));
        let cancelled = release(&publisher(), &order("cancelled", 1), &Names::default());
        assert_eq!(cancelled["contracts"][0]["status"], "cancelled");
        assert!(cancelled["contracts"][0].get("implementation").is_none());
    }

    #[test]
    fn compiling_merges_objects_and_identified_lists_and_replaces_the_rest() {
        let releases = [
            json!({
                "ocid": "ocds-x-1", "id": "ocds-x-1-0", "date": "2026-11-01T00:00:00.000000Z",
                "tag": ["award"], "initiationType": "tender",
                "parties": [{"id": "b", "name": "Dinas", "roles": ["buyer"]}],
                "awards": [{"id": "a", "status": "pending", "items": [{"id": "i", "quantity": 2}]}],
                "note": "dropped later",
            }),
            json!({
                "ocid": "ocds-x-1", "id": "ocds-x-1-1", "date": "2026-11-02T00:00:00.000000Z",
                "tag": ["awardUpdate", "contract"],
                "parties": [
                    {"id": "b", "roles": ["buyer", "payer"]},
                    {"id": "s", "name": "CV", "roles": ["supplier"]}
                ],
                "awards": [{"id": "a", "status": "active"}],
                "contracts": [{"id": "c", "status": "active"}],
                "note": null,
            }),
        ];
        let compiled = compile("ocds-x-1", &releases);
        assert_eq!(compiled["id"], "ocds-x-1-2026-11-02T00:00:00.000000Z");
        assert_eq!(compiled["tag"], json!(["compiled"]));
        assert_eq!(compiled["date"], "2026-11-02T00:00:00.000000Z");
        assert_eq!(compiled["parties"][0]["name"], "Dinas", "merged by id");
        assert_eq!(
            compiled["parties"][0]["roles"],
            json!(["buyer", "payer"]),
            "replaced"
        );
        assert_eq!(compiled["parties"][1]["id"], "s", "a newcomer appended");
        assert_eq!(compiled["awards"][0]["status"], "active");
        assert_eq!(compiled["awards"][0]["items"][0]["quantity"], 2, "kept");
        assert_eq!(compiled["contracts"][0]["id"], "c");
        assert!(compiled.get("note").is_none(), "null removes");
    }

    #[test]
    fn each_step_of_an_order_is_tagged_with_what_it_records() {
        assert_eq!(tags(OrderStatus::Placed), ["award"]);
        assert_eq!(tags(OrderStatus::Accepted), ["awardUpdate", "contract"]);
        assert_eq!(tags(OrderStatus::Completed), ["contractTermination"]);
        assert_eq!(tags(OrderStatus::Rejected), ["awardCancellation"]);
    }
}
