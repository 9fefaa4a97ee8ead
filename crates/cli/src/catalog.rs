//! Client commands for vendors and buyers: `blangkon product ...` and
//! `blangkon catalog ...`.

use std::time::{Duration, Instant};

use blangkon_platform::validation::refusals_of;
use blangkon_proto::catalog as pb;
use blangkon_proto::catalog::catalog_service_client::CatalogServiceClient;
use clap::{Args, Subcommand};
use serde_json::json;
use tonic::Status;

use crate::connection::{Authorized, Connection};

#[derive(Args)]
pub struct ProductArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: ProductCommand,
}

/// Every detail of a product, as flags.
#[derive(Args, Clone)]
struct DetailsArgs {
    #[arg(long)]
    name: String,
    #[arg(long, default_value = "")]
    description: String,
    /// Category code (`blangkon catalog categories`), e.g. katering.nasi-kotak.
    #[arg(long)]
    category: String,
    /// Unit of sale: kotak, rim, pcs, paket, ...
    #[arg(long)]
    unit: String,
    /// Price per unit in rupiah.
    #[arg(long)]
    price: i64,
    #[arg(long, default_value_t = 1)]
    min_order: i64,
    #[arg(long, default_value_t = 0)]
    stock: i64,
    /// Image URL; repeat for more.
    #[arg(long = "image")]
    images: Vec<String>,
    /// Regency code delivered to; repeat for more.
    #[arg(long = "delivers-to", required = true)]
    delivers_to: Vec<String>,
    /// Made in Indonesia (produk dalam negeri).
    #[arg(long)]
    domestic: bool,
}

impl DetailsArgs {
    fn proto(self) -> pb::ProductDetails {
        pb::ProductDetails {
            name: self.name,
            description: self.description,
            category_code: self.category,
            unit: self.unit,
            price: self.price,
            min_order_quantity: self.min_order,
            stock: self.stock,
            image_urls: self.images,
            delivery_regencies: self.delivers_to,
            domestic_product: self.domestic,
        }
    }
}

#[derive(Subcommand, Clone)]
enum ProductCommand {
    /// Create a product as a draft (vendor token with --vendor-id).
    Create {
        #[command(flatten)]
        details: DetailsArgs,
        /// Your key for this product (a SKU): creating again with it
        /// answers the same product instead of a second one.
        #[arg(long, default_value = "")]
        idempotency_key: String,
    },
    /// Replace a product's details.
    Update {
        product_id: String,
        #[command(flatten)]
        details: DetailsArgs,
    },
    /// List a draft or unlisted product in the catalog.
    Publish { product_id: String },
    /// Take a product off the catalog.
    Unlist {
        product_id: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Show one product with its price history.
    Get { product_id: String },
}

fn status(v: i32) -> String {
    pb::ProductStatus::try_from(v).map_or("?".into(), |s| {
        s.as_str_name()
            .trim_start_matches("PRODUCT_STATUS_")
            .to_ascii_lowercase()
    })
}

fn product_json(p: &pb::Product) -> serde_json::Value {
    let d = p.details.clone().unwrap_or_default();
    json!({
        "id": p.id,
        "vendor_id": p.vendor_id,
        "status": status(p.status),
        "name": d.name,
        "description": d.description,
        "category_code": d.category_code,
        "unit": d.unit,
        "price": d.price,
        "min_order_quantity": d.min_order_quantity,
        "stock": d.stock,
        "image_urls": d.image_urls,
        "delivery_regencies": d.delivery_regencies,
        "domestic_product": d.domestic_product,
        "price_history": p.price_history.iter().map(|h| json!({
            "old_price": h.old_price,
            "new_price": h.new_price,
            "changed_by": h.changed_by,
        })).collect::<Vec<_>>(),
    })
}

fn print_product(p: &pb::Product) {
    let d = p.details.clone().unwrap_or_default();
    say!("{}  {}", p.id, d.name);
    say!("  status       {}", status(p.status));
    say!("  vendor       {}", p.vendor_id);
    say!("  category     {}", d.category_code);
    say!(
        "  price        Rp{} per {} (min. order {})",
        d.price,
        d.unit,
        d.min_order_quantity
    );
    say!("  stock        {}", d.stock);
    say!("  delivers to  {}", d.delivery_regencies.join(", "));
    if !p.price_history.is_empty() {
        say!("  price history");
        for h in &p.price_history {
            say!(
                "    Rp{} -> Rp{} by {}",
                h.old_price,
                h.new_price,
                h.changed_by
            );
        }
    }
}

pub async fn product(args: ProductArgs) -> anyhow::Result<()> {
    let conn = &args.connection;
    let client = conn.catalog_client().await?;
    let reply = once_the_catalog_knows_the_vendor(conn, || {
        call_product(conn, client.clone(), args.command.clone())
    })
    .await?;
    conn.show(reply, product_json, print_product)
}

async fn call_product(
    conn: &Connection,
    mut client: CatalogServiceClient<Authorized>,
    command: ProductCommand,
) -> anyhow::Result<Result<tonic::Response<pb::Product>, Status>> {
    Ok(match command {
        ProductCommand::Create {
            details,
            idempotency_key,
        } => {
            client
                .create_product(conn.request(pb::CreateProductRequest {
                    details: Some(details.proto()),
                    idempotency_key,
                })?)
                .await
        }
        ProductCommand::Update {
            product_id,
            details,
        } => {
            client
                .update_product(conn.request(pb::UpdateProductRequest {
                    product_id,
                    details: Some(details.proto()),
                })?)
                .await
        }
        ProductCommand::Publish { product_id } => {
            client
                .publish_product(conn.request(pb::PublishProductRequest { product_id })?)
                .await
        }
        ProductCommand::Unlist { product_id, reason } => {
            client
                .unlist_product(conn.request(pb::UnlistProductRequest { product_id, reason })?)
                .await
        }
        ProductCommand::Get { product_id } => {
            client
                .get_product(conn.request(pb::GetProductRequest { product_id })?)
                .await
        }
    })
}

/// How long a command waits for the catalog to hear of a verification the
/// vendor service has recorded.
const VENDOR_WAIT: Duration = Duration::from_secs(30);

/// Calls `call` again while the catalog refuses the vendor as not verified
/// but the vendor service says it is: the catalog learns of a verification
/// from the vendor service's events, so one recorded a moment ago (the
/// first hour's `vendor verify`, then at once `product create`) reaches it
/// a moment later. Says so once, and gives up after [`VENDOR_WAIT`]. A
/// vendor the vendor service does not hold verified is refused at once.
async fn once_the_catalog_knows_the_vendor<T, F, Fut>(
    conn: &Connection,
    mut call: F,
) -> anyhow::Result<Result<tonic::Response<T>, Status>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Result<tonic::Response<T>, Status>>>,
{
    let deadline = Instant::now() + VENDOR_WAIT;
    let mut waiting = false;
    loop {
        let reply = call().await?;
        let Err(status) = &reply else {
            return Ok(reply);
        };
        let Some(vendor_id) = vendor_not_verified(status) else {
            return Ok(reply);
        };
        if Instant::now() >= deadline {
            return Ok(reply);
        }
        if !waiting {
            if !verified_at_the_vendor_service(conn, &vendor_id).await {
                return Ok(reply);
            }
            eprintln!(
                "the catalog has not heard yet that vendor {vendor_id} is verified (it follows \
                 the vendor service's events); waiting up to {} s",
                VENDOR_WAIT.as_secs()
            );
            waiting = true;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The vendor a `VENDOR_NOT_VERIFIED` refusal of the catalog names.
fn vendor_not_verified(status: &Status) -> Option<String> {
    if status.code() != tonic::Code::FailedPrecondition {
        return None;
    }
    refusals_of(status)
        .into_iter()
        .find(|r| r.kind == "VENDOR_NOT_VERIFIED")
        .and_then(|r| r.subject.strip_prefix("vendors/").map(String::from))
}

async fn verified_at_the_vendor_service(conn: &Connection, vendor_id: &str) -> bool {
    let Ok(mut vendors) = conn.vendor_client().await else {
        return false;
    };
    let Ok(request) = conn.request(blangkon_proto::vendor::GetVendorRequest {
        vendor_id: vendor_id.to_string(),
        ..Default::default()
    }) else {
        return false;
    };
    vendors.get_vendor(request).await.is_ok_and(|v| {
        v.into_inner().status == blangkon_proto::vendor::VendorStatus::Verified as i32
    })
}

#[derive(Args)]
pub struct CatalogArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: CatalogCommand,
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// The category taxonomy.
    Categories,
    /// Search listed products: stemmed, typo-tolerant, with filters.
    Search {
        /// Words to find (empty: browse).
        #[arg(default_value = "")]
        text: String,
        /// Category code; a top-level code includes its subcategories.
        #[arg(long)]
        category: Option<String>,
        /// Only products delivered to this regency, e.g. 33.74.
        #[arg(long)]
        regency: Option<String>,
        #[arg(long)]
        min_price: Option<i64>,
        #[arg(long)]
        max_price: Option<i64>,
        /// relevance, price-asc, price-desc or newest.
        #[arg(long, default_value = "relevance")]
        sort: String,
        #[arg(long, default_value_t = 20)]
        page_size: i32,
        #[arg(long, default_value = "")]
        page_token: String,
    },
}

pub async fn catalog(args: CatalogArgs) -> anyhow::Result<()> {
    let conn = &args.connection;
    let mut client = conn.catalog_client().await?;
    match args.command {
        CatalogCommand::Categories => {
            let reply = client
                .list_categories(conn.request(pb::ListCategoriesRequest {})?)
                .await;
            conn.show(reply, categories_json, print_categories)
        }
        CatalogCommand::Search {
            text,
            category,
            regency,
            min_price,
            max_price,
            sort,
            page_size,
            page_token,
        } => {
            let sort = match sort.as_str() {
                "relevance" => pb::SortOrder::Relevance,
                "price-asc" => pb::SortOrder::PriceAscending,
                "price-desc" => pb::SortOrder::PriceDescending,
                "newest" => pb::SortOrder::Newest,
                other => anyhow::bail!(
                    "--sort: `{other}` is not relevance, price-asc, price-desc or newest"
                ),
            };
            let sort = if text.is_empty() && sort == pb::SortOrder::Relevance {
                pb::SortOrder::Unspecified
            } else {
                sort
            };
            let reply = client
                .search_products(conn.request(pb::SearchProductsRequest {
                    query: text,
                    category_code: category.unwrap_or_default(),
                    delivery_regency: regency.unwrap_or_default(),
                    min_price: min_price.unwrap_or(0),
                    max_price: max_price.unwrap_or(0),
                    sort: sort as i32,
                    page_size,
                    page_token,
                    ..Default::default()
                })?)
                .await;
            conn.show(reply, search_json, print_search)
        }
    }
}

fn categories_json(list: &pb::ListCategoriesResponse) -> serde_json::Value {
    let category =
        |c: &pb::Category| json!({"code": c.code, "name": c.name, "parent_code": c.parent_code});
    list.categories.iter().map(category).collect()
}

fn print_categories(list: &pb::ListCategoriesResponse) {
    for c in &list.categories {
        let indent = if c.parent_code.is_empty() { "" } else { "  " };
        say!("{indent}{:<24} {}", c.code, c.name);
    }
}

fn search_json(response: &pb::SearchProductsResponse) -> serde_json::Value {
    json!({
        "total_matches": response.total_matches,
        "hits": response.hits.iter().map(|h| {
            let mut p = product_json(h.product.as_ref().unwrap_or(&pb::Product::default()));
            p["score"] = json!(h.score);
            p
        }).collect::<Vec<_>>(),
        "facets": response.facets.iter().map(|f| json!({"category_code": f.category_code, "count": f.count})).collect::<Vec<_>>(),
        "next_page_token": response.next_page_token,
    })
}

fn print_search(response: &pb::SearchProductsResponse) {
    say!("{} matches", response.total_matches);
    for hit in &response.hits {
        let p = hit.product.clone().unwrap_or_default();
        let d = p.details.unwrap_or_default();
        say!(
            "{}  Rp{:>11}/{:<6} {:<22} {}",
            p.id,
            d.price,
            d.unit,
            d.category_code,
            d.name
        );
    }
    if !response.next_page_token.is_empty() {
        say!("more: --page-token {}", response.next_page_token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blangkon_domain::validation::Refusal;
    use blangkon_platform::validation::failed_precondition;

    #[test]
    fn only_the_catalogs_refusal_of_a_vendor_not_verified_is_waited_out() {
        let refused = |kind: &str, subject: &str| {
            failed_precondition(&[Refusal::new(kind, subject, "not verified")])
        };
        assert_eq!(
            vendor_not_verified(&refused("VENDOR_NOT_VERIFIED", "vendors/01a2")).as_deref(),
            Some("01a2")
        );
        assert_eq!(
            vendor_not_verified(&refused("NOT_LISTED", "lines[0]")),
            None
        );
        assert_eq!(
            vendor_not_verified(&Status::not_found("vendors/01a2")),
            None
        );
    }
}
