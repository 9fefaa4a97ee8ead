//! What a buyer's words find: stems, typos, partial matches, ranking.

use super::*;

#[tokio::test]
async fn queries_find_the_product_a_buyer_means() {
    let f = fixture().await;
    // (query, expected top hit)
    let expectations = [
        ("kertas hvs a4", "Kertas HVS A4 80 gram"),
        ("tumpeng", "Tumpeng Nasi Kuning Syukuran"),
        ("spanduk", "Cetak Spanduk Flexi 280 gram"),
        ("batik tulis lasem", "Kain Batik Tulis Lasem"),
        ("seragam batik", "Seragam Batik Pegawai Lengan Panjang"),
        ("laptop", "Laptop Core i5 RAM 8GB"),
        ("meja kantor", "Meja Kantor Kayu Jati"),
        ("sabun cuci tangan", "Sabun Cuci Tangan 5 Liter"),
        ("servis ac", "Servis AC Kantor"),
        ("nasi kotak rendang", "Nasi Kotak Rendang Sapi"),
        ("lumpia semarang", "Lumpia Semarang Isi Rebung"),
        ("plakat penghargaan", "Plakat Akrilik Penghargaan"),
    ];
    for (query, top) in expectations {
        let response = f.search(find(query)).await;
        assert_eq!(
            names(&response).first().map(String::as_str),
            Some(top),
            "query {query:?}"
        );
    }
    f.app.stop().await;
}

#[tokio::test]
async fn stemming_joins_word_forms_and_one_typo_is_forgiven() {
    let f = fixture().await;
    // "makan" finds "Makanan", "minum" finds "Minuman", and back.
    assert!(
        names(&f.search(find("makan")).await).contains(&"Paket Makanan Ringan Rapat".to_string())
    );
    assert!(
        names(&f.search(find("minum")).await).contains(&"Minuman Jahe Merah Instan".to_string())
    );
    let minuman = names(&f.search(find("minuman")).await);
    assert!(
        minuman.contains(&"Air Minum Kemasan 600 ml".to_string()),
        "{minuman:?}"
    );
    // "percetakan" and "cetak" meet on "cetak".
    let cetak = names(&f.search(find("percetakan")).await);
    assert!(
        cetak.contains(&"Cetak Spanduk Flexi 280 gram".to_string()),
        "{cetak:?}"
    );
    // Typos: a swapped pair, a missing letter, a wrong letter.
    assert_eq!(
        names(&f.search(find("kertsa a4")).await)[0],
        "Kertas HVS A4 80 gram"
    );
    assert_eq!(
        names(&f.search(find("tumpen")).await)[0],
        "Tumpeng Nasi Kuning Syukuran"
    );
    assert_eq!(
        names(&f.search(find("lapton")).await)[0],
        "Laptop Core i5 RAM 8GB"
    );
    // Of two words, both must match: nonsense finds nothing.
    assert_eq!(f.search(find("laptop rendang")).await.total_matches, 0);
    f.app.stop().await;
}

#[tokio::test]
async fn most_words_still_find_a_product_after_every_full_match() {
    let f = fixture().await;
    // A word the product lacks ("makanan") no longer hides it: two of
    // three words match.
    let ayam_goreng = f.search(find("makanan ayam goreng")).await;
    assert_eq!(names(&ayam_goreng), ["Nasi Kotak Ayam Goreng Lengkap"]);

    // The one product with all three words comes first, then those with
    // two ("nasi kotak" is also their category's name); "nasi" alone is
    // not enough.
    let rendang = f.search(find("nasi kotak rendang")).await;
    let found = names(&rendang);
    assert_eq!(found[0], "Nasi Kotak Rendang Sapi");
    let partial: HashSet<&str> = found[1..].iter().map(String::as_str).collect();
    assert_eq!(
        partial,
        HashSet::from([
            "Nasi Kotak Ayam Bakar",
            "Nasi Kotak Ayam Goreng Lengkap",
            "Nasi Box Ikan Bandeng Presto",
        ])
    );
    assert_eq!(rendang.total_matches, 4);
    assert!(!found.contains(&"Tumpeng Nasi Kuning Syukuran".to_string()));

    // Sorted by price, the full match still leads, then the partial
    // matches by price, even the cheaper ones.
    let by_price = f
        .search(pb::SearchProductsRequest {
            sort: pb::SortOrder::PriceAscending as i32,
            ..find("nasi kotak rendang")
        })
        .await;
    assert_eq!(
        names(&by_price),
        [
            "Nasi Kotak Rendang Sapi",
            "Nasi Kotak Ayam Bakar",
            "Nasi Kotak Ayam Goreng Lengkap",
            "Nasi Box Ikan Bandeng Presto",
        ]
    );

    // Pages of one cross from the full to the partial matches with no
    // skip or repeat, in the same order as one page.
    for sort in [pb::SortOrder::Relevance, pb::SortOrder::PriceAscending] {
        let request = pb::SearchProductsRequest {
            sort: sort as i32,
            ..find("nasi kotak rendang")
        };
        let one_page: Vec<String> = f
            .search(request.clone())
            .await
            .hits
            .iter()
            .map(|h| h.product.as_ref().unwrap().id.clone())
            .collect();
        let paged = f
            .all_pages(pb::SearchProductsRequest {
                page_size: 1,
                ..request
            })
            .await;
        assert_eq!(paged, one_page, "{sort:?}");
    }

    // A typo counts as its word among the others.
    assert_eq!(
        names(&f.search(find("seragam batk pegawai")).await)[0],
        "Seragam Batik Pegawai Lengan Panjang"
    );
    f.app.stop().await;
}
