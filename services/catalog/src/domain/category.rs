//! The category taxonomy: what governments buy from UMKM, two levels deep.
//! Codes are stable identifiers; names are the Indonesian names buyers use.

/// A category: `code`, Indonesian `name`, and its parent's code (top level:
/// none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CategorySeed {
    pub code: &'static str,
    pub name: &'static str,
    pub parent: Option<&'static str>,
}

const fn top(code: &'static str, name: &'static str) -> CategorySeed {
    CategorySeed {
        code,
        name,
        parent: None,
    }
}

const fn sub(parent: &'static str, code: &'static str, name: &'static str) -> CategorySeed {
    CategorySeed {
        code,
        name,
        parent: Some(parent),
    }
}

/// Loaded by migration. Add categories in a new migration, never by editing
/// codes here: products refer to them.
pub const TAXONOMY: &[CategorySeed] = &[
    top("katering", "Katering Makanan"),
    sub("katering", "katering.nasi-kotak", "Nasi Kotak"),
    sub("katering", "katering.prasmanan", "Prasmanan"),
    sub("katering", "katering.tumpeng", "Tumpeng"),
    top("snack", "Makanan Ringan dan Minuman"),
    sub("snack", "snack.kue", "Kue dan Jajanan Pasar"),
    sub("snack", "snack.minuman", "Minuman"),
    top("atk", "Alat Tulis Kantor (ATK)"),
    sub("atk", "atk.kertas", "Kertas"),
    sub("atk", "atk.alat-tulis", "Alat Tulis"),
    sub("atk", "atk.map-arsip", "Map dan Arsip"),
    top("percetakan", "Percetakan"),
    sub("percetakan", "percetakan.spanduk", "Spanduk dan Baliho"),
    sub("percetakan", "percetakan.buku", "Buku dan Dokumen"),
    sub("percetakan", "percetakan.undangan", "Undangan dan Kartu"),
    top("suvenir", "Suvenir dan Kerajinan"),
    sub("suvenir", "suvenir.kerajinan", "Kerajinan Tangan"),
    sub("suvenir", "suvenir.plakat", "Plakat dan Trofi"),
    top("batik", "Batik dan Seragam"),
    sub("batik", "batik.kain", "Kain Batik"),
    sub("batik", "batik.seragam", "Seragam Kerja"),
    sub("batik", "batik.kaos", "Kaos dan Polo"),
    top("mebel", "Mebel"),
    sub("mebel", "mebel.kantor", "Mebel Kantor"),
    sub("mebel", "mebel.sekolah", "Mebel Sekolah"),
    top("kebersihan", "Perlengkapan Kebersihan"),
    sub("kebersihan", "kebersihan.sabun", "Sabun dan Deterjen"),
    sub("kebersihan", "kebersihan.alat", "Alat Kebersihan"),
    top("it", "Peralatan TI"),
    sub("it", "it.komputer", "Komputer dan Laptop"),
    sub("it", "it.printer", "Printer dan Tinta"),
    sub("it", "it.aksesoris", "Aksesoris Komputer"),
    top("jasa", "Jasa"),
    sub("jasa", "jasa.event", "Event Organizer"),
    sub("jasa", "jasa.perbaikan", "Perbaikan dan Servis"),
    sub("jasa", "jasa.fotokopi", "Fotokopi dan Jilid"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subcategory_hangs_under_a_top_level_category() {
        for c in TAXONOMY {
            if let Some(parent) = c.parent {
                let p = TAXONOMY.iter().find(|t| t.code == parent).unwrap();
                assert!(p.parent.is_none(), "{} is two levels deep at most", c.code);
                assert!(c.code.starts_with(&format!("{parent}.")), "{}", c.code);
            }
        }
    }

    #[test]
    fn codes_are_unique() {
        let mut codes: Vec<&str> = TAXONOMY.iter().map(|c| c.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), TAXONOMY.len());
    }
}
