//! Who may do what in the vendor service: every decision on a caller's
//! rights, in one place, from the typed [`Actor`] alone. The use cases ask
//! here before they act; `docs/authorization.md` lists the same rules as a
//! table, which a whole-suite test walks against the running service.
//!
//! | operation                      | province admin | regency admin     | vendor                  | buyer, analyst, service |
//! |--------------------------------|----------------|-------------------|-------------------------|-------------------------|
//! | add or join regencies          | yes            | —                 | —                       | —                       |
//! | list regencies                 | yes            | yes               | yes                     | yes                     |
//! | register a vendor              | any regency    | its regency       | itself, once            | —                       |
//! | verify, reject, suspend, reinstate, record trainings | any vendor | its regency's vendors | — | —                |
//! | read a vendor                  | full           | its regency's, full | itself, full          | public view             |
//! | list vendors                   | full           | its regency's, full | —                     | public view             |

use blangkon_domain::{Actor, Denied, RegencyCode, Standing};

/// How much of a vendor record a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Admins in scope: everything, with what their review needs (a
    /// registration's duplicate of another vendor).
    Full,
    /// The vendor itself: its own record, without the review's notes.
    Own,
    /// Everyone else: no NIK, NPWP, bank account, contact, history, nor
    /// an individual's address.
    Public,
}

impl Visibility {
    /// The record's personal and banking fields are shown.
    pub fn personal(self) -> bool {
        matches!(self, Visibility::Full | Visibility::Own)
    }
}

/// A vendor as the policy needs to see it.
#[derive(Debug, Clone, Copy)]
pub struct VendorRef<'a> {
    pub id: &'a str,
    pub regency: &'a str,
    /// The account that registered itself as this vendor, if any.
    pub owner_subject: Option<&'a str>,
}

impl<'a> VendorRef<'a> {
    pub fn of(row: &'a crate::store::vendor::Model) -> Self {
        Self {
            id: &row.id,
            regency: &row.regency_code,
            owner_subject: row.owner_subject.as_deref(),
        }
    }
}

/// Adding regencies and letting them join is the province's.
pub fn manage_regencies(actor: &Actor, action: &str) -> Result<(), Denied> {
    match actor.standing {
        Standing::ProvinceAdmin => Ok(()),
        _ => Err(Denied::role(actor, action)),
    }
}

/// Any person signed in may read the regencies; a service identity holds
/// only what its calls need (the order service reads a vendor's status).
pub fn list_regencies(actor: &Actor) -> Result<(), Denied> {
    match actor.standing {
        // The vendor service takes no call without a token; were one to
        // reach here, it would be refused all the same.
        Standing::Service | Standing::Public => Err(Denied::role(actor, "list regencies")),
        _ => Ok(()),
    }
}

/// Registering a vendor in `regency`: the province anywhere, a regency admin
/// in its own regency, a vendor account for itself while it has no vendor.
pub fn register_in(actor: &Actor, regency: &RegencyCode) -> Result<(), Denied> {
    match &actor.standing {
        Standing::ProvinceAdmin | Standing::Vendor(None) => Ok(()),
        Standing::RegencyAdmin(own) if own == regency => Ok(()),
        Standing::RegencyAdmin(own) => Err(outside(own, "register vendors", regency)),
        Standing::Vendor(Some(bound)) => Err(Denied(format!(
            "this account already acts for vendor {bound}"
        ))),
        _ => Err(Denied::role(actor, "register vendors")),
    }
}

/// Whether the actor's role administers vendors at all (verifying,
/// rejecting, suspending, reinstating, recording trainings): asked before
/// the vendor is read, so that a refused role learns nothing of it.
pub fn administer_vendors(actor: &Actor, action: &str) -> Result<(), Denied> {
    match actor.standing {
        Standing::ProvinceAdmin | Standing::RegencyAdmin(_) => Ok(()),
        _ => Err(Denied::role(actor, action)),
    }
}

/// Administering the vendor of `regency`: the province, or that regency's
/// admin.
pub fn administer_vendor_of(actor: &Actor, regency: &str, action: &str) -> Result<(), Denied> {
    match &actor.standing {
        Standing::ProvinceAdmin => Ok(()),
        Standing::RegencyAdmin(own) if own.as_str() == regency => Ok(()),
        Standing::RegencyAdmin(own) => Err(outside(own, action, regency)),
        _ => Err(Denied::role(actor, action)),
    }
}

/// What `actor` may see of `vendor`.
pub fn read_vendor(actor: &Actor, vendor: VendorRef<'_>) -> Result<Visibility, Denied> {
    match &actor.standing {
        Standing::ProvinceAdmin => Ok(Visibility::Full),
        Standing::RegencyAdmin(_) => {
            administer_vendor_of(actor, vendor.regency, "read vendors").map(|()| Visibility::Full)
        }
        Standing::Vendor(bound) => {
            let own = bound.is_some_and(|id| id.to_string() == vendor.id)
                || vendor.owner_subject == Some(actor.subject.as_str());
            if own {
                Ok(Visibility::Own)
            } else {
                Err(Denied("a vendor may read only its own record".into()))
            }
        }
        Standing::Buyer(_) | Standing::Analyst | Standing::Service => Ok(Visibility::Public),
        // The vendor service takes no call without a token; were one to
        // reach here, it would see nothing.
        Standing::Public => Err(Denied::role(actor, "read vendors")),
    }
}

/// Which vendors `actor` may list, given the regency it asked for: the
/// regency the list is limited to, and what it sees of each vendor.
pub fn list_vendors(
    actor: &Actor,
    asked: Option<RegencyCode>,
) -> Result<(Option<RegencyCode>, Visibility), Denied> {
    match &actor.standing {
        Standing::ProvinceAdmin => Ok((asked, Visibility::Full)),
        Standing::RegencyAdmin(own) => match asked {
            Some(code) if code != *own => Err(outside(own, "list vendors", &code)),
            _ => Ok((Some(own.clone()), Visibility::Full)),
        },
        Standing::Vendor(_) => Err(Denied("a vendor may read only its own record".into())),
        Standing::Service => Err(Denied::role(actor, "list vendors")),
        Standing::Buyer(_) | Standing::Analyst => Ok((asked, Visibility::Public)),
        Standing::Public => Err(Denied::role(actor, "list vendors")),
    }
}

fn outside(own: &RegencyCode, action: &str, regency: impl std::fmt::Display) -> Denied {
    Denied(format!(
        "a regency admin of {own} may not {action} in regency {regency}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use blangkon_domain::{VendorId, WorkUnit};

    const VENDOR: &str = "01934a1e-0000-7000-8000-000000000001";

    fn code(c: &str) -> RegencyCode {
        RegencyCode::parse(c).unwrap()
    }

    fn actors() -> Vec<Actor> {
        vec![
            Actor::new("p", Standing::ProvinceAdmin),
            Actor::new("r", Standing::RegencyAdmin(code("33.74"))),
            Actor::new("v", Standing::Vendor(None)),
            Actor::new(
                "v",
                Standing::Vendor(Some(VendorId::parse(VENDOR).unwrap())),
            ),
            Actor::new(
                "b",
                Standing::Buyer(WorkUnit {
                    regency: code("33.74"),
                    name: "Dinas".into(),
                }),
            ),
            Actor::new("a", Standing::Analyst),
            Actor::new("s", Standing::Service),
        ]
    }

    #[test]
    fn only_the_province_manages_regencies() {
        for actor in actors() {
            assert_eq!(
                manage_regencies(&actor, "add regencies").is_ok(),
                actor.standing == Standing::ProvinceAdmin,
                "{actor:?}"
            );
            assert_eq!(
                list_regencies(&actor).is_ok(),
                actor.standing != Standing::Service,
                "{actor:?}"
            );
        }
    }

    #[test]
    fn a_regency_admin_registers_and_administers_only_in_its_regency() {
        let admin = &actors()[1];
        assert!(register_in(admin, &code("33.74")).is_ok());
        let denied = register_in(admin, &code("33.01")).unwrap_err();
        assert!(
            denied.0.contains("33.74") && denied.0.contains("33.01"),
            "{denied}"
        );
        assert!(administer_vendors(admin, "verify vendors").is_ok());
        assert!(administer_vendor_of(admin, "33.74", "verify vendors").is_ok());
        assert!(administer_vendor_of(admin, "33.01", "verify vendors").is_err());
    }

    #[test]
    fn who_registers_vendors() {
        let allowed: Vec<bool> = actors()
            .iter()
            .map(|a| register_in(a, &code("33.74")).is_ok())
            .collect();
        // Province, its regency's admin, and a vendor account without a
        // vendor yet; a vendor account bound to a vendor registers no other.
        assert_eq!(allowed, [true, true, true, false, false, false, false]);
        let bound = register_in(&actors()[3], &code("33.74")).unwrap_err();
        assert!(bound.0.contains("already acts for vendor"), "{bound}");
    }

    #[test]
    fn only_admins_administer_vendors() {
        let allowed: Vec<bool> = actors()
            .iter()
            .map(|a| {
                administer_vendors(a, "verify vendors").is_ok()
                    && administer_vendor_of(a, "33.74", "verify vendors").is_ok()
            })
            .collect();
        assert_eq!(allowed, [true, true, false, false, false, false, false]);
        let by_role: Vec<bool> = actors()
            .iter()
            .map(|a| administer_vendors(a, "verify vendors").is_ok())
            .collect();
        assert_eq!(by_role, [true, true, false, false, false, false, false]);
        let province = &actors()[0];
        assert!(administer_vendor_of(province, "33.01", "verify vendors").is_ok());
        let outside = administer_vendor_of(&actors()[1], "33.01", "verify vendors").unwrap_err();
        assert_eq!(
            outside.0,
            "a regency admin of 33.74 may not verify vendors in regency 33.01"
        );
    }

    #[test]
    fn a_vendor_record_is_full_to_admins_its_own_to_itself_and_public_to_others() {
        let vendor = VendorRef {
            id: VENDOR,
            regency: "33.74",
            owner_subject: None,
        };
        let seen: Vec<Option<Visibility>> = actors()
            .iter()
            .map(|a| read_vendor(a, vendor).ok())
            .collect();
        use Visibility::*;
        assert_eq!(
            seen,
            [
                Some(Full),
                Some(Full),
                None,
                Some(Own),
                Some(Public),
                Some(Public),
                Some(Public)
            ]
        );
        let elsewhere = VendorRef {
            regency: "33.01",
            ..vendor
        };
        assert!(read_vendor(&actors()[1], elsewhere).is_err());
        let owned = VendorRef {
            owner_subject: Some("v"),
            ..vendor
        };
        assert_eq!(read_vendor(&actors()[2], owned), Ok(Own));
    }

    #[test]
    fn a_regency_admin_lists_only_its_regency_and_a_vendor_lists_nothing() {
        let admin = &actors()[1];
        assert_eq!(
            list_vendors(admin, None),
            Ok((Some(code("33.74")), Visibility::Full))
        );
        assert_eq!(
            list_vendors(admin, Some(code("33.74"))),
            Ok((Some(code("33.74")), Visibility::Full))
        );
        assert!(list_vendors(admin, Some(code("33.01"))).is_err());
        assert_eq!(
            list_vendors(&actors()[0], Some(code("33.01"))),
            Ok((Some(code("33.01")), Visibility::Full))
        );
        assert!(list_vendors(&actors()[2], None).is_err());
        assert!(list_vendors(&actors()[3], None).is_err());
        for other in &actors()[4..6] {
            assert_eq!(list_vendors(other, None), Ok((None, Visibility::Public)));
        }
        assert!(
            list_vendors(&actors()[6], None).is_err(),
            "no service lists vendors"
        );
    }
}
