//! Who acts: the caller of a use case, typed from its verified token.
//!
//! A token names a [`Role`] and what that role is bound to; the platform's
//! token verifier turns it into an [`Actor`], and every use case decides
//! from the actor alone, through its service's policy, what the caller may
//! do. A binding is a typed value here (a [`RegencyCode`], a [`VendorId`],
//! a [`WorkUnit`]), so a policy never compares optional strings.

use serde::{Deserialize, Serialize};

use crate::{RegencyCode, VendorId};

/// The roles of DESIGN.md, as tokens name them (`province_admin`, ...).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    /// Provincial staff: acts on every regency and vendor.
    ProvinceAdmin,
    /// Staff of one regency or city (`regency` claim).
    RegencyAdmin,
    /// A vendor's own account (`vendor_id` claim once registered).
    Vendor,
    /// A government work unit buying (`work_unit` and `regency` claims).
    Buyer,
    /// Reads reports and streams.
    Analyst,
    /// Another Blangkon service.
    Service,
}

impl Role {
    /// The role's name as tokens and stored history carry it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A government work unit (*satuan kerja*, OPD) of one regency. Its name is
/// free text chosen by the regency, unique only within that regency: two
/// regencies may each have a "Dinas Pendidikan", which are two buyers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WorkUnit {
    pub regency: RegencyCode,
    pub name: String,
}

/// What an actor is bound to, by role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    ProvinceAdmin,
    RegencyAdmin(RegencyCode),
    /// `None`: an account that has not registered its vendor yet.
    Vendor(Option<VendorId>),
    Buyer(WorkUnit),
    Analyst,
    Service,
    /// A member of the public: a call without a token, on a door that
    /// takes such calls (open data, browsing the catalog). No token can
    /// name this standing; it reads only what is published.
    Public,
}

/// An authenticated caller: who (the token's subject, recorded as the
/// actor of every change) and in what standing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub subject: String,
    pub standing: Standing,
}

impl Actor {
    pub fn new(subject: impl Into<String>, standing: Standing) -> Self {
        Self {
            subject: subject.into(),
            standing,
        }
    }

    /// A caller without a token, where one may call without.
    pub fn public() -> Self {
        Self::new("public", Standing::Public)
    }

    /// The role its token named; `None` for the public, who sent none.
    pub fn role(&self) -> Option<Role> {
        match self.standing {
            Standing::ProvinceAdmin => Some(Role::ProvinceAdmin),
            Standing::RegencyAdmin(_) => Some(Role::RegencyAdmin),
            Standing::Vendor(_) => Some(Role::Vendor),
            Standing::Buyer(_) => Some(Role::Buyer),
            Standing::Analyst => Some(Role::Analyst),
            Standing::Service => Some(Role::Service),
            Standing::Public => None,
        }
    }

    /// The role's name as logs and recorded history carry it; `public` for
    /// the public.
    pub fn role_name(&self) -> &'static str {
        self.role().map_or("public", Role::as_str)
    }

    /// The vendor a vendor account acts for, once registered.
    pub fn vendor(&self) -> Option<&VendorId> {
        match &self.standing {
            Standing::Vendor(vendor) => vendor.as_ref(),
            _ => None,
        }
    }

    /// The work unit a buyer buys for.
    pub fn work_unit(&self) -> Option<&WorkUnit> {
        match &self.standing {
            Standing::Buyer(unit) => Some(unit),
            _ => None,
        }
    }
}

/// A policy's refusal: what the actor may not do, in words the caller can
/// act on. It never repeats a token or a personal identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub String);

impl Denied {
    /// "role buyer may not register vendors"; for the public, that it
    /// takes a token.
    pub fn role(actor: &Actor, action: &str) -> Self {
        match actor.role() {
            Some(role) => Self(format!("role {role} may not {action}")),
            None => Self(format!(
                "a call without a token may not {action}: sign in and send your token"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::VariantArray;

    #[test]
    fn roles_are_named_as_tokens_name_them() {
        let names: Vec<&str> = Role::VARIANTS.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            names,
            [
                "province_admin",
                "regency_admin",
                "vendor",
                "buyer",
                "analyst",
                "service"
            ]
        );
        for role in Role::VARIANTS {
            assert_eq!(role.as_str().parse::<Role>(), Ok(*role));
            assert_eq!(role.to_string(), role.as_str());
        }
        assert!("admin".parse::<Role>().is_err());
    }

    #[test]
    fn an_actor_answers_only_the_binding_of_its_role() {
        let regency = RegencyCode::parse("33.74").unwrap();
        let admin = Actor::new("a", Standing::RegencyAdmin(regency.clone()));
        assert_eq!(admin.role(), Some(Role::RegencyAdmin));
        assert_eq!(admin.work_unit(), None);
        assert_eq!(admin.vendor(), None);

        let unit = WorkUnit {
            regency,
            name: "Dinas Pendidikan".into(),
        };
        let buyer = Actor::new("b", Standing::Buyer(unit.clone()));
        assert_eq!(buyer.role(), Some(Role::Buyer));
        assert_eq!(buyer.work_unit(), Some(&unit));
        assert_eq!(buyer.vendor(), None);

        let vendor_id = VendorId::parse("01934a1e-0000-7000-8000-000000000001").unwrap();
        let vendor = Actor::new("v", Standing::Vendor(Some(vendor_id)));
        assert_eq!(vendor.role(), Some(Role::Vendor));
        assert_eq!(vendor.vendor(), Some(&vendor_id));
        assert_eq!(Actor::new("v", Standing::Vendor(None)).vendor(), None);

        for (standing, role) in [
            (Standing::ProvinceAdmin, Role::ProvinceAdmin),
            (Standing::Analyst, Role::Analyst),
            (Standing::Service, Role::Service),
        ] {
            assert_eq!(Actor::new("x", standing).role(), Some(role));
        }
        let public = Actor::public();
        assert_eq!((public.role(), public.role_name()), (None, "public"));
        assert!(
            Denied::role(&public, "browse")
                .0
                .contains("without a token")
        );
    }
}
