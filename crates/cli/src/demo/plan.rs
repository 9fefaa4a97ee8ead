//! What `blangkon demo` will do, decided up front from a seed: which
//! regencies join, the vendors each registers (with identifiers that pass
//! the vendor service's checks), the products they list, and the orders
//! buyers place with how far each goes. The same seed gives the same plan,
//! so a second run finds everything already done.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::vocabulary::{Template, Vocabulary, pick};

/// The figures a demo run reproduces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scale {
    /// Regencies and cities of Central Java that join the platform.
    pub regencies_joined: usize,
    /// Of those, the ones whose vendors sell.
    pub regencies_transacting: usize,
    pub individuals: usize,
    pub business_entities: usize,
    /// Vendors with a recorded training.
    pub trained: usize,
    /// Products listed in the catalog.
    pub products: usize,
    pub orders: Orders,
}

/// How many orders, or how much they are worth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Orders {
    /// Orders until their value (rejected and cancelled ones aside) reaches
    /// `value`, `catering` of it in catering, each between the two bounds.
    Worth {
        value: i64,
        catering: i64,
        smallest: i64,
        largest: i64,
    },
    /// Exactly this many orders, rejected and cancelled ones included.
    Count(usize),
}

/// The per-order ceiling of a direct purchase: Rp200,000,000.
const ORDER_CEILING: i64 = 200_000_000;
/// Top-level category whose value the seed figures name.
const CATERING: &str = "katering";

impl Scale {
    /// Blangkon Jateng's first year, as reported in March 2022: 18 of 35
    /// regencies joined, 10 transacting, 2,448 vendors (1,244 individuals;
    /// the article's 1,205 business entities would make 2,449, so 1,204),
    /// about 500 trained, 55,082 products listed, Rp15 billion of
    /// transactions of which Rp4 billion catering.
    pub fn seed() -> Self {
        Self {
            regencies_joined: 18,
            regencies_transacting: 10,
            individuals: 1_244,
            business_entities: 1_204,
            trained: 500,
            products: 55_082,
            orders: Orders::Worth {
                value: 15_000_000_000,
                catering: 4_000_000_000,
                smallest: 500_000,
                largest: 25_000_000,
            },
        }
    }

    /// All of Central Java a few years on: about 10,000 vendors, 500,000
    /// products and Rp2 trillion.
    pub fn jateng_2024() -> Self {
        Self {
            regencies_joined: 35,
            regencies_transacting: 30,
            individuals: 5_200,
            business_entities: 4_800,
            trained: 2_000,
            products: 500_000,
            orders: Orders::Worth {
                value: 2_000_000_000_000,
                catering: 400_000_000_000,
                smallest: 5_000_000,
                largest: ORDER_CEILING,
            },
        }
    }

    /// `vendors` vendors (half individuals), `products` products and
    /// `orders` orders, in as many regencies as make sense for them.
    pub fn custom(vendors: usize, products: usize, orders: usize) -> Self {
        let regencies = vendors.clamp(1, 35);
        Self {
            regencies_joined: regencies,
            regencies_transacting: regencies.div_ceil(2),
            individuals: vendors.div_ceil(2),
            business_entities: vendors / 2,
            trained: vendors / 5,
            products,
            orders: Orders::Count(orders),
        }
    }

    pub fn vendors(&self) -> usize {
        self.individuals + self.business_entities
    }
}

/// Central Java's regencies and cities as the vendor service seeds them:
/// `code,kind,name` (`33.74,kota,Semarang`).
const REGENCIES: &str = include_str!("../../../../services/vendor/data/regencies-jateng.csv");

/// A regency's kind (`kabupaten` or `kota`) and name; the code itself for
/// one not in Central Java's list.
pub fn regency_name(code: &str) -> (&'static str, &str) {
    REGENCIES
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, ',');
            Some((fields.next()?, fields.next()?, fields.next()?))
        })
        .find(|(c, _, _)| *c == code)
        .map_or(("", code), |(_, kind, name)| (kind, name.trim()))
}

/// How a work unit names its regency: `Kabupaten Blora`, `Kota Semarang`.
pub fn regency_title(code: &str) -> String {
    match regency_name(code) {
        ("kota", name) => format!("Kota {name}"),
        ("kabupaten", name) => format!("Kabupaten {name}"),
        (_, name) => name.to_string(),
    }
}

/// Central Java's 35 regency and city codes, as the vendor service seeds
/// them.
pub fn central_java() -> Vec<String> {
    (1..=29)
        .map(|i| format!("33.{i:02}"))
        .chain((71..=76).map(|i| format!("33.{i}")))
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct VendorPlan {
    pub name: String,
    /// `individual`, or a business entity's form (`cv`, `pt`, ...).
    pub legal_form: &'static str,
    /// `micro`, `small` or `medium`.
    pub scale: &'static str,
    /// Individuals: the NIK; business entities: empty.
    pub nik: String,
    /// Business entities: the NIB; individuals: empty.
    pub nib: String,
    /// Business entities always; some individuals too.
    pub npwp: String,
    pub regency: String,
    pub address: String,
    pub phone: String,
    /// Where payments go: bank, account number, holder.
    pub bank: (&'static str, String, String),
    pub trained: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProductPlan {
    /// Index into [`Plan::vendors`].
    pub vendor: usize,
    /// The CreateProduct idempotency key.
    pub key: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub unit: String,
    pub price: i64,
    pub delivery_regencies: Vec<String>,
}

/// How far an order goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Rejected,
    Cancelled,
    Shipped,
    Received,
    Paid,
    Completed,
}

impl Outcome {
    /// Whether the order counts as a transaction (reporting leaves out the
    /// rejected and cancelled ones).
    pub fn counts(self) -> bool {
        !matches!(self, Outcome::Rejected | Outcome::Cancelled)
    }

    /// The status the order ends in, as reporting keys its breakdown by
    /// status.
    pub fn status(self) -> &'static str {
        match self {
            Outcome::Rejected => "rejected",
            Outcome::Cancelled => "cancelled",
            Outcome::Shipped => "shipped",
            Outcome::Received => "received",
            Outcome::Paid => "paid",
            Outcome::Completed => "completed",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderPlan {
    /// The PlaceOrder idempotency key.
    pub key: String,
    /// Index into [`Plan::products`]; the buyer is in its vendor's regency.
    pub product: usize,
    pub quantity: i64,
    /// The buying work unit (satuan kerja).
    pub work_unit: String,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub joined: Vec<String>,
    pub transacting: Vec<String>,
    pub vendors: Vec<VendorPlan>,
    pub products: Vec<ProductPlan>,
    pub orders: Vec<OrderPlan>,
}

impl Plan {
    pub fn new(scale: &Scale, seed: u64, vocabulary: &Vocabulary) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut regencies = central_java();
        shuffle(&mut rng, &mut regencies);
        let joined: Vec<String> = regencies
            .into_iter()
            .take(scale.regencies_joined.clamp(1, 35))
            .collect();
        let transacting: Vec<String> = joined
            .iter()
            .take(scale.regencies_transacting.clamp(1, joined.len()))
            .cloned()
            .collect();
        let vendors = vendors(&mut rng, scale, &joined, vocabulary);
        let products = products(&mut rng, scale, seed, &vendors, vocabulary);
        let orders = orders(&mut rng, scale, seed, &transacting, &vendors, &products);
        Self {
            joined,
            transacting,
            vendors,
            products,
            orders,
        }
    }

    /// The value the counted orders add up to.
    pub fn order_value(&self) -> i64 {
        self.orders
            .iter()
            .filter(|o| o.outcome.counts())
            .map(|o| o.quantity * self.products[o.product].price)
            .sum()
    }

    /// The value of the counted orders in top-level category `top`.
    pub fn order_value_in(&self, top: &str) -> i64 {
        self.orders
            .iter()
            .filter(|o| o.outcome.counts())
            .filter(|o| top_level(&self.products[o.product].category) == top)
            .map(|o| o.quantity * self.products[o.product].price)
            .sum()
    }
}

fn top_level(category: &str) -> &str {
    category.split('.').next().unwrap_or(category)
}

fn shuffle<T>(rng: &mut StdRng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.random_range(0..=i));
    }
}

const FIRST_NAMES: &[&str] = &[
    "Sri", "Siti", "Darto", "Wahyu", "Endang", "Joko", "Rini", "Agus", "Tri", "Budi", "Dewi",
    "Slamet", "Yuli", "Heru", "Ani", "Bambang",
];
const BUSINESS_WORDS: &[&str] = &[
    "Barokah",
    "Sejahtera",
    "Mandiri",
    "Makmur",
    "Sentosa",
    "Abadi",
    "Jaya",
    "Berkah",
    "Lestari",
    "Rejeki",
    "Sumber",
    "Karya",
];
const BANKS: &[&str] = &["Bank Jateng", "BRI", "BNI", "Bank Mandiri", "BCA", "BSI"];
const FORMS: &[(&str, &str, &str)] = &[
    ("cv", "CV", "small"),
    ("cv", "CV", "micro"),
    ("koperasi", "Koperasi", "small"),
    ("ud", "UD", "micro"),
    ("pt", "PT", "medium"),
    ("pt", "PT", "small"),
];

fn vendors(
    rng: &mut StdRng,
    scale: &Scale,
    joined: &[String],
    vocabulary: &Vocabulary,
) -> Vec<VendorPlan> {
    let total = scale.vendors();
    let mut trained: Vec<bool> = (0..total).map(|i| i < scale.trained).collect();
    shuffle(rng, &mut trained);
    (0..total)
        .map(|i| {
            let regency = joined[i % joined.len()].clone();
            let trade = &pick(rng, &vocabulary.templates).kinds[0];
            // A business is named after the town it is registered in.
            let place = regency_name(&regency).1;
            let digits = regency.replace('.', "");
            let (name, legal_form, size, nik, nib, npwp) = if i < scale.individuals {
                let first = pick(rng, FIRST_NAMES);
                (
                    format!("{trade} {first} {place}"),
                    "individual",
                    "micro",
                    nik(rng, &digits, i),
                    String::new(),
                    if i % 3 == 0 { npwp(i) } else { String::new() },
                )
            } else {
                let (form, prefix, size) = *pick(rng, FORMS);
                let word = pick(rng, BUSINESS_WORDS);
                (
                    format!("{prefix} {word} {trade} {place}"),
                    form,
                    size,
                    String::new(),
                    format!("91{:011}", i),
                    npwp(i),
                )
            };
            VendorPlan {
                legal_form,
                scale: size,
                nik,
                nib,
                npwp,
                address: format!(
                    "Jl. {} No. {}, {place}",
                    pick(rng, BUSINESS_WORDS),
                    rng.random_range(1..200)
                ),
                phone: format!("08{:010}", 1_200_000_000 + i),
                bank: (
                    *pick(rng, BANKS),
                    format!("{:010}", 3_000_000_000_u64 + i as u64),
                    name.clone(),
                ),
                name,
                regency,
                trained: trained[i],
            }
        })
        .collect()
}

/// A NIK issued in `regency` (its four digits): a district, a birth date
/// (women's days plus 40), and a serial that keeps every demo vendor's
/// NIK distinct.
fn nik(rng: &mut StdRng, regency: &str, i: usize) -> String {
    let district = rng.random_range(1..=20);
    let mut day = rng.random_range(1..=28);
    if rng.random_bool(0.5) {
        day += 40;
    }
    let month = rng.random_range(1..=12);
    let year = rng.random_range(60..=99);
    format!(
        "{regency}{district:02}{day:02}{month:02}{year:02}{:04}",
        i % 9_999 + 1
    )
}

/// A 16-digit NPWP (the 2024 format) distinct for every demo vendor.
fn npwp(i: usize) -> String {
    format!("03{:014}", i + 1)
}

fn products(
    rng: &mut StdRng,
    scale: &Scale,
    seed: u64,
    vendors: &[VendorPlan],
    vocabulary: &Vocabulary,
) -> Vec<ProductPlan> {
    // Every vendor sells at least one thing when there are products
    // enough; the rest go to vendors at random.
    (0..scale.products)
        .map(|i| {
            let vendor = if i < vendors.len() {
                i
            } else {
                rng.random_range(0..vendors.len())
            };
            let template = pick(rng, &vocabulary.templates);
            product(rng, seed, i, vendor, &vendors[vendor], template, vocabulary)
        })
        .collect()
}

fn product(
    rng: &mut StdRng,
    seed: u64,
    i: usize,
    vendor: usize,
    owner: &VendorPlan,
    template: &Template,
    vocabulary: &Vocabulary,
) -> ProductPlan {
    let (kind, variant) = (pick(rng, &template.kinds), pick(rng, &template.variants));
    let maker = pick(rng, &vocabulary.makers);
    let place = pick(rng, &vocabulary.places);
    let price = (rng.random_range(template.price.0..=template.price.1) / 100 * 100).max(100);
    ProductPlan {
        vendor,
        key: format!("demo-{seed}-p{i}"),
        name: format!("{kind} {variant} {maker}"),
        description: format!(
            "{kind} {variant} buatan UMKM {place}, kualitas terjamin, siap kirim untuk kebutuhan instansi pemerintah"
        ),
        category: template.category.clone(),
        unit: template.unit.clone(),
        price,
        delivery_regencies: vec![owner.regency.clone()],
    }
}

const WORK_UNITS: &[&str] = &[
    "Dinas Pendidikan",
    "Dinas Kesehatan",
    "Sekretariat Daerah",
    "Dinas Koperasi dan UKM",
    "Dinas Perhubungan",
    "Badan Perencanaan Pembangunan Daerah",
    "Dinas Pekerjaan Umum",
    "RSUD",
];

fn outcome(rng: &mut StdRng) -> Outcome {
    match rng.random_range(0..100) {
        0..=2 => Outcome::Rejected,
        3..=5 => Outcome::Cancelled,
        6..=7 => Outcome::Shipped,
        8..=9 => Outcome::Received,
        10..=12 => Outcome::Paid,
        _ => Outcome::Completed,
    }
}

fn orders(
    rng: &mut StdRng,
    scale: &Scale,
    seed: u64,
    transacting: &[String],
    vendors: &[VendorPlan],
    products: &[ProductPlan],
) -> Vec<OrderPlan> {
    // Buyers buy from vendors of their own regency, among the transacting
    // ones.
    let sold: Vec<usize> = (0..products.len())
        .filter(|&p| transacting.contains(&vendors[products[p].vendor].regency))
        .collect();
    let (catering, other): (Vec<usize>, Vec<usize>) = sold
        .iter()
        .partition(|&&p| top_level(&products[p].category) == CATERING);
    if sold.is_empty() {
        return Vec::new();
    }
    let mut orders = Vec::new();
    let mut place = |rng: &mut StdRng, product: usize, quantity: i64, outcome: Outcome| {
        let regency = &vendors[products[product].vendor].regency;
        orders.push(OrderPlan {
            key: format!("demo-{seed}-o{}", orders.len()),
            product,
            quantity,
            work_unit: format!("{} {}", pick(rng, WORK_UNITS), regency_title(regency)),
            outcome,
        });
    };
    match scale.orders {
        Orders::Count(count) => {
            for _ in 0..count {
                let product = *pick(rng, &sold);
                let most = (ORDER_CEILING / products[product].price).max(1);
                let quantity = rng.random_range(1..=20).min(most);
                let outcome = outcome(rng);
                place(rng, product, quantity, outcome);
            }
        }
        Orders::Worth {
            value,
            catering: catering_value,
            smallest,
            largest,
        } => {
            // Each pool is filled to its share of the value: an order's
            // quantity is chosen for a value between the bounds, the last
            // one for what remains.
            for (pool, target) in [
                (&catering, catering_value),
                (&other, value - catering_value),
            ] {
                if pool.is_empty() {
                    continue;
                }
                let mut left = target;
                while left > 0 {
                    let product = *pick(rng, pool);
                    let price = products[product].price;
                    let outcome = outcome(rng);
                    let wanted = rng.random_range(smallest..=largest).min(left);
                    let most = ORDER_CEILING / price;
                    let quantity = (wanted / price).clamp(1, most.max(1));
                    if outcome.counts() {
                        left -= quantity * price;
                    }
                    place(rng, product, quantity, outcome);
                }
            }
        }
    }
    orders
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(scale: &Scale) -> Plan {
        Plan::new(scale, 2022, &Vocabulary::load().unwrap())
    }

    #[test]
    fn vendors_and_work_units_are_named_after_their_own_regency() {
        let plan = plan(&Scale::custom(40, 80, 200));
        for v in &plan.vendors {
            let (_, town) = regency_name(&v.regency);
            assert!(v.name.ends_with(town), "{} in {}", v.name, v.regency);
        }
        for o in &plan.orders {
            let vendor = &plan.vendors[plan.products[o.product].vendor];
            assert!(
                o.work_unit.ends_with(&regency_title(&vendor.regency)),
                "{}",
                o.work_unit
            );
        }
        assert_eq!(regency_title("33.74"), "Kota Semarang");
        assert_eq!(regency_title("33.01"), "Kabupaten Cilacap");
        assert_eq!(regency_name("99.99"), ("", "99.99"));
    }

    #[test]
    fn the_seed_plan_has_the_seed_figures() {
        let scale = Scale::seed();
        let plan = plan(&scale);
        assert_eq!(plan.joined.len(), 18);
        assert_eq!(plan.transacting.len(), 10);
        assert_eq!(plan.vendors.len(), 2_448);
        let individuals = plan
            .vendors
            .iter()
            .filter(|v| v.legal_form == "individual")
            .count();
        assert_eq!(individuals, 1_244);
        assert_eq!(plan.vendors.iter().filter(|v| v.trained).count(), 500);
        assert_eq!(plan.products.len(), 55_082);
        // The value overshoots by at most the last order's.
        let value = plan.order_value();
        assert!((15_000_000_000..15_025_000_000).contains(&value), "{value}");
        let catering = plan.order_value_in("katering");
        assert!(
            (4_000_000_000..4_025_000_000).contains(&catering),
            "{catering}"
        );
        for order in &plan.orders {
            let product = &plan.products[order.product];
            assert!(order.quantity * product.price <= ORDER_CEILING);
            assert!(
                plan.transacting
                    .contains(&plan.vendors[product.vendor].regency)
            );
        }
    }

    #[test]
    fn a_plan_is_the_same_for_the_same_seed() {
        let scale = Scale::custom(30, 100, 20);
        assert_eq!(plan(&scale), plan(&scale));
        let other = Plan::new(&scale, 7, &Vocabulary::load().unwrap());
        assert_ne!(plan(&scale).vendors, other.vendors);
    }

    #[test]
    fn every_identifier_passes_the_vendor_services_checks() {
        use blangkon_vendor::domain::identifiers::{Nib, Nik, Npwp};
        let plan = plan(&Scale::custom(400, 0, 0));
        let mut seen = std::collections::HashSet::new();
        for vendor in &plan.vendors {
            if vendor.legal_form == "individual" {
                let nik = Nik::parse(&vendor.nik).unwrap();
                assert_eq!(nik.regency_code().to_string(), vendor.regency);
                assert!(seen.insert(vendor.nik.clone()));
            } else {
                Nib::parse(&vendor.nib).unwrap();
                assert!(seen.insert(vendor.nib.clone()));
            }
            if !vendor.npwp.is_empty() {
                Npwp::parse(&vendor.npwp).unwrap();
                assert!(seen.insert(vendor.npwp.clone()));
            }
        }
    }
}
