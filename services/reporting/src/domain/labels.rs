//! Codes as a person reads them, in Indonesian and English: order and
//! vendor statuses, legal forms, business scales. The public site, the
//! summary and the breakdowns label their keys with these.

use super::red_flags::Lang;

/// An order status as a person reads it.
pub fn status_label(status: &str, lang: Lang) -> &'static str {
    match (status, lang) {
        ("placed", Lang::Id) => "Dipesan",
        ("placed", Lang::En) => "Placed",
        ("accepted", Lang::Id) => "Disetujui penyedia",
        ("accepted", Lang::En) => "Accepted",
        ("rejected", Lang::Id) => "Ditolak penyedia",
        ("rejected", Lang::En) => "Rejected",
        ("shipped", Lang::Id) => "Dikirim",
        ("shipped", Lang::En) => "Shipped",
        ("received", Lang::Id) => "Diterima (BAST)",
        ("received", Lang::En) => "Received (BAST)",
        ("paid", Lang::Id) => "Dibayar",
        ("paid", Lang::En) => "Paid",
        ("completed", Lang::Id) => "Selesai",
        ("completed", Lang::En) => "Completed",
        ("cancelled", Lang::Id) => "Dibatalkan",
        ("cancelled", Lang::En) => "Cancelled",
        _ => "—",
    }
}

/// Every status, in the order an order goes through them.
pub const STATUSES: [&str; 8] = [
    "placed",
    "accepted",
    "rejected",
    "shipped",
    "received",
    "paid",
    "completed",
    "cancelled",
];

/// A legal form as a person reads it.
pub fn legal_form_label(form: &str, lang: Lang) -> String {
    match (form, lang) {
        ("individual", Lang::Id) => "Perorangan".into(),
        ("individual", Lang::En) => "Individual".into(),
        ("pt", _) => "PT".into(),
        ("cv", _) => "CV".into(),
        ("ud", _) => "UD".into(),
        ("firma", _) => "Firma".into(),
        ("koperasi", Lang::Id) => "Koperasi".into(),
        ("koperasi", Lang::En) => "Cooperative".into(),
        (other, _) => other.to_string(),
    }
}

/// A business scale as a person reads it.
pub fn scale_label(scale: &str, lang: Lang) -> String {
    match (scale, lang) {
        ("micro", Lang::Id) => "Mikro".into(),
        ("micro", Lang::En) => "Micro".into(),
        ("small", Lang::Id) => "Kecil".into(),
        ("small", Lang::En) => "Small".into(),
        ("medium", Lang::Id) => "Menengah".into(),
        ("medium", Lang::En) => "Medium".into(),
        ("", _) => "—".into(),
        (other, _) => other.to_string(),
    }
}

/// A vendor status as a person reads it.
pub fn vendor_status_label(status: &str, lang: Lang) -> String {
    match (status, lang) {
        ("pending", Lang::Id) => "Menunggu verifikasi".into(),
        ("pending", Lang::En) => "Awaiting verification".into(),
        ("verified", Lang::Id) => "Terverifikasi".into(),
        ("verified", Lang::En) => "Verified".into(),
        ("suspended", Lang::Id) => "Dibekukan".into(),
        ("suspended", Lang::En) => "Suspended".into(),
        ("rejected", Lang::Id) => "Ditolak".into(),
        ("rejected", Lang::En) => "Rejected".into(),
        (other, _) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_a_label_in_both_languages() {
        for status in STATUSES {
            for lang in [Lang::Id, Lang::En] {
                assert_ne!(status_label(status, lang), "—", "{status}");
            }
            assert_ne!(
                status_label(status, Lang::Id),
                status_label(status, Lang::En),
                "{status}"
            );
        }
    }
}
