//! Client commands for vendors and buyers: `blangkon product ...` and
//! `blangkon catalog ...`.

use blangkon_proto::catalog as pb;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::client::Connection;
use crate::output;

#[derive(Args)]
pub struct ProductArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: ProductCommand,
}

/// Every detail of a product, as flags.
#[derive(Args)]
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

#[derive(Subcommand)]
enum ProductCommand {
    /// Create a product as a draft (vendor token with --vendor-id).
    Create(DetailsArgs),
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
    let mut client = conn.catalog_client().await?;
    let reply = match args.command {
        ProductCommand::Create(details) => {
            client
                .create_product(conn.request(pb::CreateProductRequest {
                    details: Some(details.proto()),
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
    };
    let product = reply.map_err(output::status_error)?.into_inner();
    if conn.json {
        output::print_json(&product_json(&product));
    } else {
        print_product(&product);
    }
    Ok(())
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
}

pub async fn catalog(args: CatalogArgs) -> anyhow::Result<()> {
    let conn = &args.connection;
    let mut client = conn.catalog_client().await?;
    match args.command {
        CatalogCommand::Categories => {
            let categories = client
                .list_categories(conn.request(pb::ListCategoriesRequest {})?)
                .await
                .map_err(output::status_error)?
                .into_inner()
                .categories;
            if conn.json {
                output::print_json(&serde_json::Value::Array(
                    categories
                        .iter()
                        .map(|c| json!({"code": c.code, "name": c.name, "parent_code": c.parent_code}))
                        .collect(),
                ));
            } else {
                for c in &categories {
                    let indent = if c.parent_code.is_empty() { "" } else { "  " };
                    say!("{indent}{:<24} {}", c.code, c.name);
                }
            }
        }
    }
    Ok(())
}
