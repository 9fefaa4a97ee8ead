//! What each page shows, already in the reader's words: the templates
//! under `templates/site/` only lay it out (and escape it), so everything
//! that can be wrong about a page is here, in Rust, and tested.

use askama::Template;

use super::chart::{BarChart, ShareGauge};
use super::text::Text;

/// The frame of every page.
#[derive(Debug)]
pub struct Layout {
    pub t: &'static Text,
    pub title: String,
    pub home_href: String,
    pub nav: Vec<NavItem>,
    /// The same page in the other language.
    pub other_href: String,
}

#[derive(Debug)]
pub struct NavItem {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

/// A headline figure; `value` is what the API says, for machines and the
/// browser test (`<data value>`), `text` what a person reads.
#[derive(Debug)]
pub struct Figure {
    pub id: &'static str,
    pub label: &'static str,
    pub value: i64,
    pub text: String,
    pub detail: String,
}

#[derive(Debug)]
pub struct FlagCountView {
    pub label: String,
    pub count_text: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "site/home.html")]
pub struct HomePage {
    pub l: Layout,
    pub as_of: Option<String>,
    pub figures: Vec<Figure>,
    pub share_bp: i64,
    pub share_text: String,
    pub share_value_text: String,
    pub share_met: bool,
    pub gauge: ShareGauge,
    pub charts: Vec<BarChart>,
    pub flag_counts: Vec<FlagCountView>,
    pub flags_href: String,
}

/// A form field: its name (also its id, `f-<name>`), what the reader gave
/// and why it was refused.
#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub value: String,
    pub error: Option<String>,
}

impl Field {
    pub fn new(name: &'static str, value: &str, error: Option<String>) -> Self {
        Self {
            name,
            value: value.to_string(),
            error,
        }
    }
}

#[derive(Debug)]
pub struct SelectOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Debug)]
pub struct LedgerFields {
    pub from: Field,
    pub until: Field,
    pub status: Field,
    pub regency: Field,
    pub category: Field,
    pub vendor: Field,
    pub status_options: Vec<SelectOption>,
    pub regency_options: Vec<SelectOption>,
    pub category_options: Vec<SelectOption>,
    /// The name of the vendor the ledger is filtered to.
    pub vendor_name: String,
}

#[derive(Debug)]
pub struct TransactionRow {
    pub href: String,
    pub date_iso: String,
    pub date_text: String,
    pub buyer: String,
    pub buyer_regency: String,
    pub vendor: String,
    pub vendor_href: String,
    pub items: String,
    pub total: i64,
    pub total_text: String,
    pub status: &'static str,
}

#[derive(Template)]
#[template(path = "site/ledger.html")]
pub struct LedgerPage {
    pub l: Layout,
    pub action: String,
    pub fields: LedgerFields,
    pub errors: Vec<String>,
    pub rows: Vec<TransactionRow>,
    pub next_href: Option<String>,
    pub first_href: Option<String>,
    pub clear_href: Option<String>,
    pub csv_href: String,
    pub json_href: String,
}

#[derive(Debug)]
pub struct ItemRow {
    pub name: String,
    pub category: String,
    pub quantity: String,
    pub unit_price: String,
    pub line_total: String,
}

#[derive(Debug, Clone)]
pub struct FlagRow {
    pub href: String,
    pub kind: &'static str,
    pub explanation: String,
    pub vendor: String,
    pub vendor_href: String,
    pub buyer: String,
    pub orders_text: String,
    pub raised_iso: String,
    pub raised_text: String,
}

#[derive(Template)]
#[template(path = "site/transaction.html")]
pub struct TransactionPage {
    pub l: Layout,
    pub order_id: String,
    pub status: &'static str,
    pub buyer: String,
    pub buyer_regency: String,
    pub vendor: String,
    pub vendor_href: String,
    pub vendor_regency: String,
    pub vendor_kind: String,
    pub placed_at: String,
    pub updated_at: String,
    pub bast_date: Option<String>,
    pub paid_at: Option<String>,
    pub items: Vec<ItemRow>,
    pub total: i64,
    pub total_text: String,
    pub json_href: String,
    pub ocds_href: String,
    pub flags: Vec<FlagRow>,
}

#[derive(Template)]
#[template(path = "site/vendor.html")]
pub struct VendorPage {
    pub l: Layout,
    pub name: String,
    pub regency: String,
    pub legal_form: String,
    pub scale: String,
    pub status: String,
    pub verified_at: Option<String>,
    pub transactions: i64,
    pub transactions_text: String,
    pub value: i64,
    pub value_text: String,
    pub latest: Vec<TransactionRow>,
    pub all_href: String,
    pub flags: Vec<FlagRow>,
}

#[derive(Template)]
#[template(path = "site/red_flags.html")]
pub struct RedFlagsPage {
    pub l: Layout,
    pub action: String,
    pub counts: Vec<FlagCountView>,
    pub kind: Field,
    pub regency: Field,
    pub kind_options: Vec<SelectOption>,
    pub regency_options: Vec<SelectOption>,
    pub errors: Vec<String>,
    pub flags: Vec<FlagRow>,
    pub next_href: Option<String>,
    pub first_href: Option<String>,
    pub clear_href: Option<String>,
    pub csv_href: String,
}

#[derive(Debug)]
pub struct OrderLink {
    pub href: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "site/red_flag.html")]
pub struct RedFlagPage {
    pub l: Layout,
    pub row: FlagRow,
    pub measured: String,
    pub against: String,
    pub orders: Vec<OrderLink>,
    pub more_text: Option<String>,
    pub json_href: String,
}

#[derive(Template)]
#[template(path = "site/open_data.html")]
pub struct OpenDataPage {
    pub l: Layout,
    pub months: Vec<OrderLink>,
    pub years: Vec<OrderLink>,
}

#[derive(Template)]
#[template(path = "site/error.html")]
pub struct ErrorPage {
    pub l: Layout,
    pub message: String,
}
