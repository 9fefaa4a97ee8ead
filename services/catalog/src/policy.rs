//! Who may do what in the catalog service: every decision on a caller's
//! rights, in one place, from the typed [`Actor`] alone (the table is in
//! `docs/authorization.md`, walked by a whole-suite test).
//!
//! - Everyone browses, signed in or not (the public without a token):
//!   categories, search, listed products of verified vendors. A service
//!   identity does not browse. Who changed a price (an account) is shown
//!   to the signed-in only.
//! - A vendor account bound to its vendor manages its own products (the
//!   vendor must also be verified, which is state, not a right).
//! - The province unlists any product, saying why.
//! - The province and analysts read every product in any status (and the
//!   order service's quotes and reservations reach any); a vendor reads its
//!   own.
//! - Buyers and services ask for price quotes; only services (the order
//!   service) hold and release stock.

use blangkon_domain::{Actor, Denied, Standing, VendorId};

/// Anyone may browse the catalog, the public without a token too.
pub fn browse(actor: &Actor) -> Result<(), Denied> {
    match actor.standing {
        // A service identity holds only what its calls need: the order
        // service quotes and holds stock, and browses nothing.
        Standing::Service => Err(Denied::role(actor, "browse the catalog")),
        Standing::Public
        | Standing::ProvinceAdmin
        | Standing::RegencyAdmin(_)
        | Standing::Vendor(_)
        | Standing::Buyer(_)
        | Standing::Analyst => Ok(()),
    }
}

/// Whether the account that changed a product's price is shown: not to
/// the public (an account is a person's).
pub fn sees_who_changed_prices(actor: &Actor) -> bool {
    actor.standing != Standing::Public
}

/// The vendor a caller manages products for: a vendor account bound to
/// its vendor.
pub fn manage_products(actor: &Actor) -> Result<VendorId, Denied> {
    match &actor.standing {
        Standing::Vendor(Some(vendor)) => Ok(*vendor),
        Standing::Vendor(None) => Err(unbound()),
        _ => Err(Denied::role(actor, "manage products")),
    }
}

/// A product of `owner` managed for `vendor`.
pub fn own_product(vendor: &VendorId, owner: &str) -> Result<(), Denied> {
    if vendor.to_string() == owner {
        Ok(())
    } else {
        Err(Denied("a vendor may manage only its own products".into()))
    }
}

/// Who takes a product down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlister {
    /// The vendor itself, whatever the product's status.
    Vendor(VendorId),
    /// The province, which must say why.
    Province,
}

pub fn unlist(actor: &Actor) -> Result<Unlister, Denied> {
    match &actor.standing {
        Standing::Vendor(Some(vendor)) => Ok(Unlister::Vendor(*vendor)),
        Standing::Vendor(None) => Err(unbound()),
        Standing::ProvinceAdmin => Ok(Unlister::Province),
        _ => Err(Denied::role(actor, "unlist products")),
    }
}

/// Whether `actor` sees a product of `owner` in any status; everyone else
/// sees only listed products of verified vendors, and the rest does not
/// exist for them.
pub fn sees_every_product_of(actor: &Actor, owner: &str) -> bool {
    match &actor.standing {
        Standing::ProvinceAdmin | Standing::Analyst | Standing::Service => true,
        Standing::Vendor(Some(vendor)) => vendor.to_string() == owner,
        _ => false,
    }
}

/// Price quotes: buyers comparing, and the order service.
pub fn quote_prices(actor: &Actor) -> Result<(), Denied> {
    match actor.standing {
        Standing::Buyer(_) | Standing::Service => Ok(()),
        _ => Err(Denied::role(actor, "ask for quotes")),
    }
}

/// Holding and releasing stock: the order service only.
pub fn hold_stock(actor: &Actor, action: &str) -> Result<(), Denied> {
    match actor.standing {
        Standing::Service => Ok(()),
        _ => Err(Denied::role(actor, action)),
    }
}

fn unbound() -> Denied {
    Denied("this vendor token is not bound to a vendor (no vendor_id claim)".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use blangkon_domain::{RegencyCode, WorkUnit};

    const MINE: &str = "01934a1e-0000-7000-8000-000000000001";
    const OTHER: &str = "01934a1e-0000-7000-8000-000000000002";

    fn actors() -> Vec<Actor> {
        let regency = RegencyCode::parse("33.74").unwrap();
        vec![
            Actor::new("p", Standing::ProvinceAdmin),
            Actor::new("r", Standing::RegencyAdmin(regency.clone())),
            Actor::new("v", Standing::Vendor(None)),
            Actor::new("v", Standing::Vendor(Some(VendorId::parse(MINE).unwrap()))),
            Actor::new(
                "b",
                Standing::Buyer(WorkUnit {
                    regency,
                    name: "Dinas".into(),
                }),
            ),
            Actor::new("a", Standing::Analyst),
            Actor::new("s", Standing::Service),
            Actor::public(),
        ]
    }

    fn each(decide: impl Fn(&Actor) -> bool) -> Vec<bool> {
        actors().iter().map(decide).collect()
    }

    #[test]
    fn only_a_bound_vendor_manages_and_only_its_own_products() {
        assert_eq!(
            each(|a| manage_products(a).is_ok()),
            [false, false, false, true, false, false, false, false]
        );
        let mine = VendorId::parse(MINE).unwrap();
        assert_eq!(manage_products(&actors()[3]), Ok(mine));
        assert!(own_product(&mine, MINE).is_ok());
        assert!(own_product(&mine, OTHER).is_err());
        let unbound = manage_products(&actors()[2]).unwrap_err();
        assert!(unbound.0.contains("not bound"), "{unbound}");
    }

    #[test]
    fn the_vendor_and_the_province_unlist() {
        assert_eq!(
            each(|a| unlist(a).is_ok()),
            [true, false, false, true, false, false, false, false]
        );
        assert_eq!(unlist(&actors()[0]), Ok(Unlister::Province));
        assert_eq!(
            unlist(&actors()[3]),
            Ok(Unlister::Vendor(VendorId::parse(MINE).unwrap()))
        );
        let unbound = unlist(&actors()[2]).unwrap_err();
        assert!(unbound.0.contains("not bound"), "{unbound}");
        let admin = unlist(&actors()[1]).unwrap_err();
        assert!(admin.0.contains("regency_admin"), "{admin}");
    }

    #[test]
    fn who_sees_products_in_every_status() {
        assert_eq!(
            each(|a| sees_every_product_of(a, MINE)),
            [true, false, false, true, false, true, true, false]
        );
        assert!(!sees_every_product_of(&actors()[3], OTHER));
    }

    #[test]
    fn buyers_and_services_quote_and_only_services_hold_stock() {
        assert_eq!(
            each(|a| quote_prices(a).is_ok()),
            [false, false, false, false, true, false, true, false]
        );
        assert_eq!(
            each(|a| hold_stock(a, "reserve stock").is_ok()),
            [false, false, false, false, false, false, true, false]
        );
        // A service identity browses nothing; every person may, the
        // public without a token too, who alone is not told who changed a
        // price.
        assert_eq!(
            each(|a| browse(a).is_ok()),
            [true, true, true, true, true, true, false, true]
        );
        assert_eq!(
            each(sees_who_changed_prices),
            [true, true, true, true, true, true, true, false]
        );
    }
}
