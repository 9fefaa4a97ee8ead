//! Client commands for buyers and vendors: `blangkon order ...`.

use blangkon_proto::order as pb;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::connection::Connection;
use crate::output::rupiah;

#[derive(Args)]
pub struct OrderArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: OrderCommand,
}

#[derive(Subcommand)]
enum OrderCommand {
    /// Place an order (buyer token): `--item <product-id>=<quantity>`, repeated.
    Place {
        /// Product and quantity, e.g. 01a2...=20; repeat for more.
        #[arg(long = "item", required = true)]
        items: Vec<String>,
        /// Reuse to retry safely; a fresh one is made when omitted.
        #[arg(long)]
        idempotency_key: Option<String>,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Show one order with its history.
    Get { order_id: String },
    /// List the orders you may see.
    List {
        #[arg(long)]
        status: Option<String>,
        /// Only this vendor's orders.
        #[arg(long, default_value = "")]
        vendor: String,
        /// Placed on or after this day (YYYY-MM-DD, Western Indonesia Time).
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
        /// Placed before this day (YYYY-MM-DD, Western Indonesia Time).
        #[arg(long)]
        until: Option<chrono::NaiveDate>,
        #[arg(long, default_value_t = 50)]
        page_size: i32,
        #[arg(long, default_value = "")]
        page_token: String,
    },
    /// Vendor: accept a placed order.
    Accept {
        order_id: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Vendor: reject a placed order.
    Reject {
        order_id: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Vendor: mark an accepted order shipped.
    Ship {
        order_id: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Buyer: record the handover (BAST).
    Receive {
        order_id: String,
        #[arg(long)]
        bast_number: String,
        /// YYYY-MM-DD.
        #[arg(long)]
        bast_date: String,
    },
    /// Buyer: record the payment.
    Pay {
        order_id: String,
        #[arg(long)]
        reference: String,
    },
    /// Buyer: close a paid order.
    Complete {
        order_id: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Buyer: cancel before shipping.
    Cancel {
        order_id: String,
        #[arg(long, default_value = "")]
        note: String,
    },
}

fn status(v: i32) -> String {
    pb::OrderStatus::try_from(v).map_or("?".into(), |s| {
        s.as_str_name()
            .trim_start_matches("ORDER_STATUS_")
            .to_ascii_lowercase()
    })
}

fn order_json(o: &pb::Order) -> serde_json::Value {
    json!({
        "id": o.id,
        "status": status(o.status),
        "buyer_work_unit": o.buyer_work_unit,
        "buyer_regency": o.buyer_regency,
        "vendor_id": o.vendor_id,
        "total": o.total,
        "items": o.items.iter().map(|i| json!({
            "product_id": i.product_id, "name": i.name, "quantity": i.quantity,
            "unit": i.unit, "unit_price": i.unit_price, "line_total": i.line_total,
        })).collect::<Vec<_>>(),
        "bast_number": o.bast_number,
        "bast_date": o.bast_date,
        "payment_reference": o.payment_reference,
        "history": o.history.iter().map(|h| json!({
            "from": placed_from(h.from_status), "to": status(h.to_status),
            "actor": h.actor, "actor_role": h.actor_role, "note": h.note,
        })).collect::<Vec<_>>(),
    })
}

fn print_order(o: &pb::Order) {
    say!("{}  {}  {}", o.id, status(o.status), rupiah(o.total));
    say!("  buyer   {} ({})", o.buyer_work_unit, o.buyer_regency);
    say!("  vendor  {}", o.vendor_id);
    for i in &o.items {
        say!(
            "  {:>6} {:<6} × {:<12} = {:<14} {}",
            i.quantity,
            i.unit,
            rupiah(i.unit_price),
            rupiah(i.line_total),
            i.name
        );
    }
    if !o.bast_number.is_empty() {
        say!("  BAST    {} ({})", o.bast_number, o.bast_date);
    }
    if !o.payment_reference.is_empty() {
        say!("  paid    {}", o.payment_reference);
    }
    for h in &o.history {
        let step = match placed_from(h.from_status) {
            Some(from) => format!("{from} -> {}", status(h.to_status)),
            None => status(h.to_status),
        };
        say!("  {step} by {} ({}) {}", h.actor, h.actor_role, h.note);
    }
}

/// The status a step left, `None` for the placing (it left none).
fn placed_from(from_status: i32) -> Option<String> {
    (from_status != pb::OrderStatus::Unspecified as i32).then(|| status(from_status))
}

fn parse_items(items: &[String]) -> anyhow::Result<Vec<pb::OrderLine>> {
    items
        .iter()
        .map(|item| {
            let (product_id, quantity) = item.split_once('=').ok_or_else(|| {
                anyhow::anyhow!("--item `{item}`: expected <product-id>=<quantity>")
            })?;
            let quantity = quantity
                .parse()
                .map_err(|_| anyhow::anyhow!("--item `{item}`: quantity is not a whole number"))?;
            Ok(pb::OrderLine {
                product_id: product_id.to_string(),
                quantity,
            })
        })
        .collect()
}

pub async fn order(args: OrderArgs) -> anyhow::Result<()> {
    let conn = &args.connection;
    let mut client = conn.order_client().await?;
    let transition = |order_id: String, note: String| pb::TransitionRequest { order_id, note };
    let reply = match args.command {
        OrderCommand::Place {
            items,
            idempotency_key,
            note,
        } => {
            let idempotency_key =
                idempotency_key.unwrap_or_else(|| format!("cli-{}", uuid::Uuid::now_v7()));
            client
                .place_order(conn.request(pb::PlaceOrderRequest {
                    idempotency_key,
                    lines: parse_items(&items)?,
                    note,
                })?)
                .await
        }
        OrderCommand::Get { order_id } => {
            client
                .get_order(conn.request(pb::GetOrderRequest { order_id })?)
                .await
        }
        OrderCommand::List {
            status: wanted,
            vendor,
            from,
            until,
            page_size,
            page_token,
        } => {
            // Days start at midnight in Central Java (WIB).
            let day_start = |d: chrono::NaiveDate| {
                blangkon_platform::time::to_timestamp(blangkon_platform::time::wib_day_start(d))
            };
            let wanted_status = match wanted.as_deref() {
                None => pb::OrderStatus::Unspecified,
                Some(name) => pb::OrderStatus::from_str_name(&format!(
                    "ORDER_STATUS_{}",
                    name.to_ascii_uppercase()
                ))
                .ok_or_else(|| anyhow::anyhow!("--status: `{name}` is not an order status"))?,
            };
            let list = client
                .list_orders(conn.request(pb::ListOrdersRequest {
                    status: wanted_status as i32,
                    vendor_id: vendor,
                    page_size,
                    page_token,
                    placed_from: from.map(day_start),
                    placed_until: until.map(day_start),
                })?)
                .await;
            return conn.show(list, orders_json, print_orders);
        }
        OrderCommand::Accept { order_id, note } => {
            client
                .accept_order(conn.request(transition(order_id, note))?)
                .await
        }
        OrderCommand::Reject { order_id, note } => {
            client
                .reject_order(conn.request(transition(order_id, note))?)
                .await
        }
        OrderCommand::Ship { order_id, note } => {
            client
                .ship_order(conn.request(transition(order_id, note))?)
                .await
        }
        OrderCommand::Complete { order_id, note } => {
            client
                .complete_order(conn.request(transition(order_id, note))?)
                .await
        }
        OrderCommand::Cancel { order_id, note } => {
            client
                .cancel_order(conn.request(transition(order_id, note))?)
                .await
        }
        OrderCommand::Receive {
            order_id,
            bast_number,
            bast_date,
        } => {
            client
                .receive_order(conn.request(pb::ReceiveOrderRequest {
                    order_id,
                    bast_number,
                    bast_date,
                })?)
                .await
        }
        OrderCommand::Pay {
            order_id,
            reference,
        } => {
            client
                .pay_order(conn.request(pb::PayOrderRequest {
                    order_id,
                    payment_reference: reference,
                })?)
                .await
        }
    };
    conn.show(reply, order_json, print_order)
}

fn orders_json(list: &pb::ListOrdersResponse) -> serde_json::Value {
    json!({
        "orders": list.orders.iter().map(order_json).collect::<Vec<_>>(),
        "next_page_token": list.next_page_token,
    })
}

fn print_orders(list: &pb::ListOrdersResponse) {
    for o in &list.orders {
        say!(
            "{}  {:<9}  Rp{:>12}  {}",
            o.id,
            status(o.status),
            o.total,
            o.buyer_work_unit
        );
    }
    if !list.next_page_token.is_empty() {
        say!("more: --page-token {}", list.next_page_token);
    }
}
