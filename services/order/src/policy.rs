//! Who may do what in the order service: every decision on a caller's
//! rights, in one place, from the typed [`Actor`] alone (the table is in
//! `docs/authorization.md`, walked by a whole-suite test).
//!
//! - A buyer places orders for its work unit. A work unit is its regency
//!   and its name together: two regencies' "Dinas Pendidikan" are two
//!   buyers, who never see or touch each other's orders.
//! - The order's vendor accepts, rejects and ships it; its buyer receives
//!   (BAST), pays, completes or cancels it.
//! - The province and analysts read every order; a regency admin the
//!   orders its regency's work units placed; a buyer and a vendor their
//!   own. No service reads orders.

use blangkon_domain::{Actor, Denied, Standing, VendorId, WorkUnit};

use crate::domain::lifecycle::{Action, Party};

/// An order as the policy needs to see it.
#[derive(Debug, Clone, Copy)]
pub struct OrderRef<'a> {
    pub buyer_regency: &'a str,
    pub buyer_work_unit: &'a str,
    pub vendor_id: &'a str,
}

/// The work unit a caller places orders for.
pub fn place_orders(actor: &Actor) -> Result<WorkUnit, Denied> {
    match &actor.standing {
        Standing::Buyer(unit) => Ok(unit.clone()),
        _ => Err(Denied::role(actor, "place orders")),
    }
}

/// Whether the actor is the order's party for `action`.
pub fn act_on(actor: &Actor, order: OrderRef<'_>, action: Action) -> Result<(), Denied> {
    let (allowed, party) = match action.party() {
        Party::Vendor => (is_vendor_of(actor, order), "the order's vendor"),
        Party::Buyer => (is_buyer_of(actor, order), "the order's buyer"),
    };
    if allowed {
        Ok(())
    } else {
        Err(Denied(format!(
            "only {party} may {} this order",
            action.as_str()
        )))
    }
}

/// Whether the actor may read the order.
pub fn read_order(actor: &Actor, order: OrderRef<'_>) -> Result<(), Denied> {
    let allowed = match &actor.standing {
        Standing::ProvinceAdmin | Standing::Analyst => true,
        // No service calls the order service; the public reads the
        // ledger from reporting, never an order here.
        Standing::Service | Standing::Public => false,
        Standing::RegencyAdmin(regency) => regency.as_str() == order.buyer_regency,
        Standing::Buyer(_) => is_buyer_of(actor, order),
        Standing::Vendor(_) => is_vendor_of(actor, order),
    };
    if allowed {
        Ok(())
    } else {
        Err(Denied(
            "this order belongs to another buyer, vendor or regency".into(),
        ))
    }
}

/// Which orders a list may hold for the actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListScope {
    Everything,
    /// Orders placed by work units of this regency.
    BuyerRegency(String),
    /// Orders of this work unit.
    WorkUnit(WorkUnit),
    /// Orders to this vendor.
    Vendor(VendorId),
}

/// The orders `actor` may list, given the vendor it asked for.
pub fn list_orders(actor: &Actor, asked_vendor: Option<&VendorId>) -> Result<ListScope, Denied> {
    match &actor.standing {
        Standing::ProvinceAdmin | Standing::Analyst => Ok(ListScope::Everything),
        Standing::Service => Err(Denied("no service reads orders".into())),
        Standing::Public => Err(Denied::role(actor, "list orders")),
        Standing::RegencyAdmin(regency) => Ok(ListScope::BuyerRegency(regency.to_string())),
        Standing::Buyer(unit) => Ok(ListScope::WorkUnit(unit.clone())),
        Standing::Vendor(None) => Err(Denied("this vendor token is not bound to a vendor".into())),
        Standing::Vendor(Some(own)) => match asked_vendor {
            Some(asked) if asked != own => {
                Err(Denied("a vendor may list only its own orders".into()))
            }
            _ => Ok(ListScope::Vendor(*own)),
        },
    }
}

fn is_buyer_of(actor: &Actor, order: OrderRef<'_>) -> bool {
    actor.work_unit().is_some_and(|unit| {
        unit.regency.as_str() == order.buyer_regency && unit.name == order.buyer_work_unit
    })
}

fn is_vendor_of(actor: &Actor, order: OrderRef<'_>) -> bool {
    actor
        .vendor()
        .is_some_and(|vendor| vendor.to_string() == order.vendor_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use blangkon_domain::RegencyCode;

    const VENDOR: &str = "01934a1e-0000-7000-8000-000000000001";
    const OTHER_VENDOR: &str = "01934a1e-0000-7000-8000-000000000002";

    fn unit(regency: &str, name: &str) -> WorkUnit {
        WorkUnit {
            regency: RegencyCode::parse(regency).unwrap(),
            name: name.into(),
        }
    }

    fn actors() -> Vec<Actor> {
        vec![
            Actor::new("p", Standing::ProvinceAdmin),
            Actor::new(
                "r",
                Standing::RegencyAdmin(RegencyCode::parse("33.74").unwrap()),
            ),
            Actor::new("v", Standing::Vendor(None)),
            Actor::new(
                "v",
                Standing::Vendor(Some(VendorId::parse(VENDOR).unwrap())),
            ),
            Actor::new("b", Standing::Buyer(unit("33.74", "Dinas Pendidikan"))),
            Actor::new("a", Standing::Analyst),
            Actor::new("s", Standing::Service),
        ]
    }

    fn order() -> OrderRef<'static> {
        OrderRef {
            buyer_regency: "33.74",
            buyer_work_unit: "Dinas Pendidikan",
            vendor_id: VENDOR,
        }
    }

    #[test]
    fn only_buyers_place_orders_for_their_own_work_unit() {
        let placing: Vec<Option<WorkUnit>> =
            actors().iter().map(|a| place_orders(a).ok()).collect();
        let buyer = Some(unit("33.74", "Dinas Pendidikan"));
        assert_eq!(placing, [None, None, None, None, buyer, None, None]);
    }

    #[test]
    fn the_vendor_and_the_buyer_each_take_their_own_steps() {
        for action in [Action::Accept, Action::Reject, Action::Ship] {
            let allowed: Vec<bool> = actors()
                .iter()
                .map(|a| act_on(a, order(), action).is_ok())
                .collect();
            assert_eq!(allowed, [false, false, false, true, false, false, false]);
        }
        for action in [
            Action::Receive,
            Action::Pay,
            Action::Complete,
            Action::Cancel,
        ] {
            let allowed: Vec<bool> = actors()
                .iter()
                .map(|a| act_on(a, order(), action).is_ok())
                .collect();
            assert_eq!(allowed, [false, false, false, false, true, false, false]);
        }
        let elsewhere = OrderRef {
            vendor_id: OTHER_VENDOR,
            ..order()
        };
        assert!(act_on(&actors()[3], elsewhere, Action::Accept).is_err());
    }

    #[test]
    fn a_work_unit_of_the_same_name_in_another_regency_is_another_buyer() {
        let semarang = Actor::new("b", Standing::Buyer(unit("33.74", "Dinas Pendidikan")));
        let kudus = Actor::new("k", Standing::Buyer(unit("33.19", "Dinas Pendidikan")));
        assert!(read_order(&semarang, order()).is_ok());
        assert!(act_on(&semarang, order(), Action::Cancel).is_ok());
        assert!(read_order(&kudus, order()).is_err());
        assert!(act_on(&kudus, order(), Action::Cancel).is_err());
        assert_eq!(
            list_orders(&kudus, None),
            Ok(ListScope::WorkUnit(unit("33.19", "Dinas Pendidikan")))
        );
        let other_unit = Actor::new("o", Standing::Buyer(unit("33.74", "Dinas Kesehatan")));
        assert!(read_order(&other_unit, order()).is_err());
    }

    #[test]
    fn who_reads_an_order() {
        let allowed: Vec<bool> = actors()
            .iter()
            .map(|a| read_order(a, order()).is_ok())
            .collect();
        // No service reads orders.
        assert_eq!(allowed, [true, true, false, true, true, true, false]);
        let other_regency = OrderRef {
            buyer_regency: "33.01",
            ..order()
        };
        assert!(read_order(&actors()[1], other_regency).is_err());
    }

    #[test]
    fn lists_are_scoped_to_what_the_actor_may_read() {
        let vendor = VendorId::parse(VENDOR).unwrap();
        let other = VendorId::parse(OTHER_VENDOR).unwrap();
        let scopes: Vec<Option<ListScope>> =
            actors().iter().map(|a| list_orders(a, None).ok()).collect();
        assert_eq!(
            scopes,
            [
                Some(ListScope::Everything),
                Some(ListScope::BuyerRegency("33.74".into())),
                None,
                Some(ListScope::Vendor(vendor)),
                Some(ListScope::WorkUnit(unit("33.74", "Dinas Pendidikan"))),
                Some(ListScope::Everything),
                None,
            ]
        );
        assert_eq!(
            list_orders(&actors()[3], Some(&vendor)),
            Ok(ListScope::Vendor(vendor))
        );
        assert!(list_orders(&actors()[3], Some(&other)).is_err());
    }
}
