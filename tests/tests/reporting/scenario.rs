//! A scripted year in miniature: every figure, stream and export checked
//! against the services' own databases.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn figures_streams_and_open_data_after_a_scripted_scenario() {
    let mut s = suite().await;
    let province_token = province();
    let mut vendors = s.vendors().await;
    for code in ["33.74", "33.22", "33.01"] {
        vendors
            .join_regency(with(
                &province_token,
                ven::JoinRegencyRequest { code: code.into() },
            ))
            .await
            .unwrap();
    }
    // Four vendors: an individual (micro), a CV (small), a PT (medium), a
    // cooperative left pending.
    let sri = s
        .register(individual("Katering Bu Sri", "33.74"), true)
        .await;
    let cv = s
        .register(
            entity(
                "CV Sinar Kertas",
                ven::LegalForm::Cv,
                ven::Scale::Small,
                "33.22",
                "1234567890123",
            ),
            true,
        )
        .await;
    let pt = s
        .register(
            entity(
                "PT Mebel Jaya",
                ven::LegalForm::Pt,
                ven::Scale::Medium,
                "33.22",
                "1234567890124",
            ),
            true,
        )
        .await;
    s.register(
        entity(
            "Koperasi Batik Lasem",
            ven::LegalForm::Koperasi,
            ven::Scale::Small,
            "33.74",
            "1234567890125",
        ),
        false,
    )
    .await;
    vendors
        .record_training(with(
            &province_token,
            ven::RecordTrainingRequest {
                vendor_id: sri.clone(),
                topic: "Mengunggah produk".into(),
                kind: ven::TrainingKind::Training as i32,
                attended_on: "2026-11-02".into(),
                organizer: "Dinas Koperasi dan UKM".into(),
            },
        ))
        .await
        .unwrap();

    let nasi = s.product(&sri, "katering.nasi-kotak", 25_000, 20).await;
    let tumpeng = s.product(&sri, "katering.tumpeng", 750_000, 1).await;
    let kertas = s.product(&cv, "atk.kertas", 55_000, 1).await;
    let pena = s.product(&cv, "atk.alat-tulis", 3_000, 1).await;
    let meja = s.product(&pt, "mebel.kantor", 2_500_000, 1).await;
    s.catalog()
        .await
        .unlist_product(with(
            &vendor_token(&cv),
            cat::UnlistProductRequest {
                product_id: pena.clone(),
                reason: "stok habis".into(),
            },
        ))
        .await
        .unwrap();

    let disdik = buyer("33.74", "Dinas Pendidikan Kota Semarang");
    let dinkes = buyer("33.22", "Dinas Kesehatan Kabupaten Semarang");
    let mut orders = s.orders().await;
    // O1: the whole way, Rp1,750,000 from a micro business.
    let o1 = s.place(&disdik, &[(&nasi, 40), (&tumpeng, 1)]).await;
    let sri_token = vendor_token(&sri);
    orders
        .accept_order(with(&sri_token, transition(&o1)))
        .await
        .unwrap();
    orders
        .ship_order(with(&sri_token, transition(&o1)))
        .await
        .unwrap();
    orders
        .receive_order(with(
            &disdik,
            ord::ReceiveOrderRequest {
                order_id: o1.clone(),
                bast_number: "BAST/027/2026".into(),
                bast_date: "2026-11-20".into(),
            },
        ))
        .await
        .unwrap();
    orders
        .pay_order(with(
            &disdik,
            ord::PayOrderRequest {
                order_id: o1.clone(),
                payment_reference: "SP2D-2026-000123".into(),
            },
        ))
        .await
        .unwrap();
    orders
        .complete_order(with(&disdik, transition(&o1)))
        .await
        .unwrap();
    // O2: accepted, Rp550,000 from a small business.
    let o2 = s.place(&dinkes, &[(&kertas, 10)]).await;
    orders
        .accept_order(with(&vendor_token(&cv), transition(&o2)))
        .await
        .unwrap();
    // O3: rejected; O4: cancelled; neither is a transaction.
    let o3 = s.place(&disdik, &[(&meja, 2)]).await;
    orders
        .reject_order(with(&vendor_token(&pt), transition(&o3)))
        .await
        .unwrap();
    let o4 = s.place(&dinkes, &[(&nasi, 20)]).await;
    orders
        .cancel_order(with(&dinkes, transition(&o4)))
        .await
        .unwrap();
    // O5: placed, Rp2,500,000 from a medium business, which is then suspended.
    let o5 = s.place(&dinkes, &[(&meja, 1)]).await;
    vendors
        .suspend_vendor(with(
            &province_token,
            ven::SuspendVendorRequest {
                vendor_id: pt.clone(),
                reason: "dokumen kedaluwarsa".into(),
            },
        ))
        .await
        .unwrap();

    // Reporting catches up through Kafka: every step of every order
    // applied (the statuses alone settle before the last transition does).
    let summary = eventually("reporting catches up", Duration::from_secs(90), || async {
        let summary = s.summary().await;
        let t = truth(&s).await;
        let settled = summary.transactions == t.transactions
            && summary.transaction_value == t.value
            && summary
                .orders_by_status
                .iter()
                .map(|r| r.orders)
                .sum::<i64>()
                == 5
            && summary
                .orders_by_status
                .iter()
                .any(|r| r.key == "completed")
            && summary
                .orders_by_status
                .iter()
                .any(|r| r.key == "cancelled")
            && count_of(&summary.vendors_by_status, "suspended") == 1
            && summary.products_listed == 4
            && summary.vendors_trained == 1
            && summary.regencies_joined == 3;
        if settled { Ok(summary) } else { Err(summary) }
    })
    .await;

    // The same figures, the ledger and the storefront on the public web.
    public_http::walk(&s, &summary, &o1, &nasi, &pena).await;
    public_http::walk_ocds(&s, &o1).await;

    let reports = s.reports().await;
    {
        // The summary equals what the order and vendor databases say, to the rupiah.
        let t = truth(&s).await;
        assert_eq!(summary.transactions, t.transactions);
        assert_eq!(summary.transaction_value, t.value);
        assert_eq!(summary.micro_small_value, t.micro_small_value);
        assert_eq!(summary.vendors_total, t.vendors);
        assert_eq!(summary.vendors_individual, t.individuals);
        assert_eq!(
            summary
                .orders_by_status
                .iter()
                .map(|r| r.orders)
                .sum::<i64>(),
            t.orders
        );
        // And what the script did, worked out by hand.
        assert_eq!(
            (summary.transactions, summary.transaction_value),
            (3, 4_800_000)
        );
        assert_eq!(summary.micro_small_value, 2_300_000);
        assert_eq!(summary.micro_small_share_bp, 4_791);
        assert!(summary.micro_small_target_met);
        assert_eq!(
            (
                summary.vendors_total,
                summary.vendors_individual,
                summary.vendors_business_entity
            ),
            (4, 1, 3)
        );
        assert_eq!(count_of(&summary.vendors_by_status, "verified"), 2);
        assert_eq!(count_of(&summary.vendors_by_status, "pending"), 1);
        assert_eq!(count_of(&summary.vendors_by_legal_form, "koperasi"), 1);
        assert_eq!(count_of(&summary.vendors_by_regency, "33.74"), 2);
        assert_eq!(count_of(&summary.vendors_by_regency, "33.22"), 2);
        // Five listed, one unlisted: katering 2 (Bu Sri, 33.74), atk 1 and
        // mebel 1 (33.22).
        let products: Vec<(&str, i64)> = summary
            .products_by_category
            .iter()
            .map(|r| (r.key.as_str(), r.count))
            .collect();
        assert_eq!(products, [("atk", 1), ("katering", 2), ("mebel", 1)]);
        let products: Vec<(&str, i64)> = summary
            .products_by_regency
            .iter()
            .map(|r| (r.key.as_str(), r.count))
            .collect();
        assert_eq!(products, [("33.22", 2), ("33.74", 2)]);
        assert_eq!(
            (summary.regencies_joined, summary.regencies_transacting),
            (3, 2)
        );
        let top: Vec<(&str, i64, i64)> = summary
            .top_categories
            .iter()
            .map(|c| (c.key.as_str(), c.orders, c.value))
            .collect();
        assert_eq!(
            top,
            [
                ("mebel", 1, 2_500_000),
                ("katering", 1, 1_750_000),
                ("atk", 1, 550_000)
            ]
        );
        assert!(summary.as_of.is_some());
    }
    {
        let mut reports = reports.clone();
        // Breakdowns: by month over today, and over a year with no orders.
        let today = blangkon_reporting::domain::calendar::day_of(chrono::Utc::now());
        let by_month = reports
            .get_breakdown(Request::new(pb::GetBreakdownRequest {
                dimension: pb::Dimension::Month as i32,
                period: Some(pb::Period {
                    from_date: today.clone(),
                    until_date: today.clone(),
                }),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (by_month.orders_total, by_month.value_total),
            (3, 4_800_000)
        );
        assert_eq!(by_month.rows.len(), 1);
        assert_eq!(by_month.rows[0].key, &today[..7]);
        let empty = reports
            .get_breakdown(Request::new(pb::GetBreakdownRequest {
                dimension: pb::Dimension::Category as i32,
                period: Some(pb::Period {
                    from_date: "2020-01-01".into(),
                    until_date: "2020-12-31".into(),
                }),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(empty.rows.is_empty());
        assert_eq!((empty.orders_total, empty.value_total), (0, 0));
        let by_regency = reports
            .get_breakdown(Request::new(pb::GetBreakdownRequest {
                dimension: pb::Dimension::Regency as i32,
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        let regency_rows: Vec<(&str, i64, i64)> = by_regency
            .rows
            .iter()
            .map(|r| (r.key.as_str(), r.orders, r.value))
            .collect();
        assert_eq!(
            regency_rows,
            [("33.22", 2, 3_050_000), ("33.74", 1, 1_750_000)]
        );
        assert!(
            !by_regency.rows[0].label.is_empty(),
            "regency names come from RegencyJoined"
        );
        // A page at a time, all time and over a period alike: the same
        // rows, each once, and the whole period's totals on every page.
        for period in [
            None,
            Some(pb::Period {
                from_date: today.clone(),
                until_date: today.clone(),
            }),
        ] {
            let mut paged = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = reports
                    .get_breakdown(Request::new(pb::GetBreakdownRequest {
                        dimension: pb::Dimension::Regency as i32,
                        period: period.clone(),
                        page_size: 1,
                        page_token,
                    }))
                    .await
                    .unwrap()
                    .into_inner();
                assert!(page.rows.len() <= 1);
                assert_eq!((page.orders_total, page.value_total), (3, 4_800_000));
                paged.extend(page.rows.iter().map(|r| (r.key.clone(), r.orders, r.value)));
                page_token = page.next_page_token;
                if page_token.is_empty() {
                    break;
                }
            }
            let whole: Vec<(String, i64, i64)> = regency_rows
                .iter()
                .map(|(k, o, v)| (k.to_string(), *o, *v))
                .collect();
            assert_eq!(paged, whole, "{period:?}");
        }
        for (page_size, page_token, field) in [
            (1_001, String::new(), "page_size"),
            (0, "not a token".to_string(), "page_token"),
        ] {
            let refused = reports
                .get_breakdown(Request::new(pb::GetBreakdownRequest {
                    dimension: pb::Dimension::Regency as i32,
                    page_size,
                    page_token,
                    ..Default::default()
                }))
                .await
                .unwrap_err();
            assert_eq!(refused.code(), tonic::Code::InvalidArgument);
            assert!(refused.message().contains(field), "{refused:?}");
        }
        let by_status = reports
            .get_breakdown(Request::new(pb::GetBreakdownRequest {
                dimension: pb::Dimension::Status as i32,
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(by_status.orders_total, 5);
    }
    let ledger_text = {
        let mut reports = reports.clone();
        // The public ledger: every order, newest first, pages without repeats.
        let mut seen = Vec::new();
        let mut token = String::new();
        let mut ledger_text = String::new();
        loop {
            let page = reports
                .list_transactions(Request::new(pb::ListTransactionsRequest {
                    page_size: 2,
                    page_token: token.clone(),
                    ..Default::default()
                }))
                .await
                .unwrap()
                .into_inner();
            ledger_text.push_str(&format!("{page:?}"));
            seen.extend(page.transactions.iter().map(|t| t.order_id.clone()));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        assert_eq!(
            seen,
            [o5.clone(), o4.clone(), o3.clone(), o2.clone(), o1.clone()]
        );
        let filtered = |req: pb::ListTransactionsRequest| {
            let mut reports = reports.clone();
            async move {
                let mut ids: Vec<String> = reports
                    .list_transactions(Request::new(req))
                    .await
                    .unwrap()
                    .into_inner()
                    .transactions
                    .into_iter()
                    .map(|t| t.order_id)
                    .collect();
                ids.sort();
                ids
            }
        };
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        assert_eq!(
            filtered(pb::ListTransactionsRequest {
                category_code: "katering".into(),
                ..Default::default()
            })
            .await,
            sorted(vec![o1.clone(), o4.clone()])
        );
        assert_eq!(
            filtered(pb::ListTransactionsRequest {
                regency_code: "33.74".into(),
                ..Default::default()
            })
            .await,
            sorted(vec![o1.clone(), o3.clone(), o4.clone()])
        );
        assert_eq!(
            filtered(pb::ListTransactionsRequest {
                status: "placed".into(),
                vendor_id: pt.clone(),
                ..Default::default()
            })
            .await,
            vec![o5.clone()]
        );
        let first = reports
            .list_transactions(Request::new(pb::ListTransactionsRequest {
                vendor_id: sri.clone(),
                status: "completed".into(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
            .transactions;
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].vendor_name, "Katering Bu Sri");
        assert_eq!(first[0].total, 1_750_000);
        assert_eq!(first[0].bast_date, "2026-11-20");
        assert!(first[0].paid_at.is_some());
        assert_eq!(first[0].items.len(), 2);
        ledger_text
    };
    let package_json = {
        let mut reports = reports.clone();
        // The OCDS export validates against the standard with zero errors.
        let package = reports
            .export_ocds(Request::new(pb::ExportOcdsRequest::default()))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(package.releases, 5);
        let report = validate_ocds(&package.json);
        assert_eq!(
            report["validation_errors"],
            serde_json::json!([]),
            "{report:#}"
        );
        assert_eq!(
            report["additional_closed_codelist_values"],
            serde_json::json!({}),
            "{report:#}"
        );
        assert_eq!(report["count"], 5);

        // Bounded in bytes: a budget of the whole package's size (and room
        // for its time stamp's digits) keeps all five on one page; a byte
        // less than the package, or a quarter of it, pages them, every
        // package within the budget and each release once.
        let reporting_db = connect(&s.reporting_db).await;
        let bounded = |max: usize| {
            ReportingApi::new(
                reporting_db.clone(),
                ReportingSettings {
                    ocds_package_max_bytes: max,
                    ..ReportingSettings::default()
                },
            )
        };
        let pages = |max: usize| {
            let api = bounded(max);
            async move {
                let mut packages = Vec::new();
                let mut page_token = String::new();
                loop {
                    let package = api
                        .export_ocds(Request::new(pb::ExportOcdsRequest {
                            page_token,
                            ..Default::default()
                        }))
                        .await
                        .unwrap()
                        .into_inner();
                    page_token = package.next_page_token.clone();
                    packages.push(package);
                    if page_token.is_empty() {
                        return packages;
                    }
                }
            }
        };
        let whole = package.json.len();
        let at_the_bound = pages(whole + 64).await;
        assert_eq!(at_the_bound.len(), 1);
        let past_it = pages(whole - 1).await;
        assert!(past_it.len() > 1, "{}", past_it.len());
        let small = pages(whole / 4).await;
        for paged in [&past_it, &small] {
            let mut ocids: Vec<String> = paged
                .iter()
                .flat_map(|p| {
                    let json: serde_json::Value = serde_json::from_str(&p.json).unwrap();
                    json["releases"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r["ocid"].as_str().unwrap().to_string())
                        .collect::<Vec<_>>()
                })
                .collect();
            assert_eq!(ocids.len(), 5);
            ocids.sort();
            ocids.dedup();
            assert_eq!(ocids.len(), 5, "each release once");
        }
        for package in &small {
            assert!(
                package.json.len() <= whole / 4 || package.releases == 1,
                "{} bytes, {} releases",
                package.json.len(),
                package.releases
            );
        }
        package.json
    };
    let mut stream_text = {
        // The analyst stream: one readable JSON fact per order change.
        let changes: HashMap<&str, usize> = HashMap::from([
            (o1.as_str(), 6),
            (o2.as_str(), 2),
            (o3.as_str(), 2),
            (o4.as_str(), 2),
            (o5.as_str(), 1),
        ]);
        let expected_facts: usize = changes.values().sum();
        let reader = EventReader::new(
            &s.services.kafka.bootstrap,
            &s.topic(topics::REPORTING_TRANSACTIONS),
        );
        let mut facts = reader
            .read_records_until(Duration::from_secs(30), |r| r.len() >= expected_facts)
            .await;
        // Nothing more follows.
        facts.extend(
            reader
                .read_records_until(Duration::from_secs(2), |_| false)
                .await,
        );
        assert_eq!(
            facts.len(),
            expected_facts,
            "one fact per order change, no more"
        );
        let mut per_order: HashMap<String, Vec<serde_json::Value>> = HashMap::new();
        let mut stream_text = String::new();
        for record in &facts {
            assert_eq!(
                record.headers.get("content-type").map(String::as_str),
                Some("application/json")
            );
            let text = std::str::from_utf8(&record.value).unwrap();
            stream_text.push_str(text);
            let fact: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(fact["order_id"], record.key.as_str());
            per_order.entry(record.key.clone()).or_default().push(fact);
        }
        for (order_id, n) in &changes {
            let facts = &per_order[*order_id];
            assert_eq!(facts.len(), *n, "facts of {order_id}");
            let versions: Vec<i64> = facts
                .iter()
                .map(|f| f["version"].as_i64().unwrap())
                .collect();
            assert_eq!(
                versions,
                (0..*n as i64).collect::<Vec<_>>(),
                "in order per order id"
            );
        }
        let last = per_order[o1.as_str()].last().unwrap();
        assert_eq!(last["status"], "completed");
        assert_eq!(last["vendor"]["name"], "Katering Bu Sri");
        assert_eq!(last["vendor"]["micro_small_or_cooperative"], true);
        assert_eq!(last["items"][0]["top_category"], "katering");
        assert_eq!(last["total"], 1_750_000);
        // An analyst's aggregate from the stream alone: the latest fact per
        // order, transactions only.
        let value: i64 = per_order
            .values()
            .map(|facts| facts.iter().max_by_key(|f| f["version"].as_i64()).unwrap())
            .filter(|f| f["is_transaction"] == true)
            .map(|f| f["total"].as_i64().unwrap())
            .sum();
        assert_eq!(value, summary.transaction_value);
        // And a plain Python confluent-kafka consumer, as analysts have it.
        let python = analyst_example(&s);
        assert_eq!(
            python,
            serde_json::json!({
                "transactions": 3,
                "value": 4_800_000,
                "micro_small_value": 2_300_000,
                "by_category": {"mebel": 2_500_000, "katering": 1_750_000, "atk": 550_000},
            })
        );
        stream_text
    };
    let summary_text = {
        let mut summary_text = String::new();
        // The summary stream: the latest record of each key is its running
        // figure (read until the final values of two keys arrived, which each
        // reach only at the end; partitions interleave).
        let finals = [
            ("orders/all/", 4_800_000),
            ("orders/category/mebel", 2_500_000),
        ];
        let summaries = EventReader::new(
            &s.services.kafka.bootstrap,
            &s.topic(topics::REPORTING_SUMMARY),
        )
        .read_records_until(Duration::from_secs(30), |records| {
            finals.iter().all(|(key, value)| {
                records.iter().any(|r| {
                    r.key == *key
                        && serde_json::from_slice::<serde_json::Value>(&r.value).unwrap()["value"]
                            == *value
                })
            })
        })
        .await;
        let mut latest: BTreeMap<String, serde_json::Value> = BTreeMap::new();
        for r in &summaries {
            summary_text.push_str(std::str::from_utf8(&r.value).unwrap());
            latest.insert(r.key.clone(), serde_json::from_slice(&r.value).unwrap());
        }
        assert_eq!(latest["orders/all/"]["count"], 3);
        assert_eq!(latest["orders/all/"]["value"], 4_800_000);
        assert_eq!(latest["orders/category/mebel"]["value"], 2_500_000);
        summary_text
    };
    stream_text.push_str(&summary_text);
    {
        // No personal data in public answers or streams.
        let public = format!("{summary:?}{ledger_text}{package_json}{stream_text}");
        assert_eq!(leaks(&public), Vec::<&str>::new());
    }
    {
        // Redelivered events change nothing; the same change under a new id
        // (a producer's duplicate) changes nothing either.
        let reporting_db = connect(&s.reporting_db).await;
        let before = figures(reporting_db.clone()).await;
        let applied = scalar(&reporting_db, "SELECT COUNT(*) AS n FROM inbox").await as usize;
        let events = domain_events(&s, applied).await;
        let replaying = Projection::replaying();
        for event in &events {
            let again = inbox::apply(&reporting_db, CONSUMER, &replaying, event)
                .await
                .unwrap();
            assert_eq!(again, Applied::Duplicate);
        }
        for event in events.iter().filter(|e| e.topic == topics::ORDER_EVENTS) {
            let mut copy = event.clone();
            copy.envelope.event_id = uuid::Uuid::new_v4().to_string();
            let applied = inbox::apply(&reporting_db, CONSUMER, &replaying, &copy)
                .await
                .unwrap();
            assert_eq!(applied, Applied::Handled);
        }
        assert_eq!(figures(reporting_db.clone()).await, before);

        // Damaged events — an order id of 50 characters (the column holds
        // 36), a regency code of 45 — are set aside as dead letters with the
        // field named, and reach no figure.
        use blangkon_proto::events as ev;
        let damaged = |event: &ReceivedEvent, payload: prost_types::Any| {
            let mut copy = event.clone();
            copy.envelope.event_id = uuid::Uuid::now_v7().to_string();
            copy.envelope.payload = Some(payload);
            copy.offset += 1_000_000;
            copy
        };
        let placed = events
            .iter()
            .find(|e| e.envelope.event_type == "blangkon.events.v1.OrderPlaced")
            .unwrap();
        let mut order: ev::OrderPlaced = placed.message().unwrap();
        order.order.as_mut().unwrap().order_id = "o".repeat(50);
        let joined = events
            .iter()
            .find(|e| e.envelope.event_type == "blangkon.events.v1.RegencyJoined")
            .unwrap();
        let mut regency: ev::RegencyJoined = joined.message().unwrap();
        regency.regency_code = "33.74".repeat(9);
        for (event, field) in [
            (
                damaged(placed, prost_types::Any::from_msg(&order).unwrap()),
                "order.order_id",
            ),
            (
                damaged(joined, prost_types::Any::from_msg(&regency).unwrap()),
                "regency_code",
            ),
        ] {
            let applied = inbox::apply(&reporting_db, CONSUMER, &replaying, &event)
                .await
                .unwrap();
            assert_eq!(applied, Applied::DeadLettered, "{field}");
            let letters = blangkon_platform::dead_letters::list(
                &reporting_db,
                blangkon_platform::dead_letters::Showing::Waiting,
                10,
            )
            .await
            .unwrap();
            let letter = letters
                .iter()
                .find(|l| l.event_id == event.envelope.event_id)
                .unwrap();
            assert!(letter.reason.starts_with(field), "{}", letter.reason);
        }
        assert_eq!(figures(reporting_db.clone()).await, before);

        // Out of order: every event, newest first, into an empty read model.
        let reversed_db = TestDatabase::new().await;
        let reversed = connect(&reversed_db).await;
        blangkon_platform::db::migrate::<blangkon_reporting::store::migrations::Migrator>(
            &reversed,
        )
        .await
        .unwrap();
        for event in events.iter().rev() {
            inbox::apply(&reversed, CONSUMER, &replaying, event)
                .await
                .unwrap();
        }
        assert_eq!(figures(reversed).await, before);

        // Rebuild: with the service stopped, the topics replayed from their
        // start into an emptied read model give identical figures.
        s.stop(Member::Reporting).await;
        // What the flags' task had left to compute when the service stopped.
        let defaults = blangkon_reporting::domain::red_flags::Thresholds::default();
        while blangkon_reporting::projection::settle_red_flags(&reporting_db, &defaults)
            .await
            .unwrap()
            > 0
        {}
        let flags_before = red_flags_of(&reporting_db).await;
        assert!(!flags_before.is_empty());
        let outcome = blangkon_reporting::rebuild::rebuild(
            &reporting_db,
            &s.services.config.kafka,
            &blangkon_reporting::domain::red_flags::Thresholds::default(),
        )
        .await
        .unwrap();
        assert_eq!(outcome.applied as usize, events.len(), "{outcome}");
        assert_eq!(figures(reporting_db.clone()).await, before);
        // The red flags the live projection kept, computed once at the end.
        assert_eq!(outcome.red_flags as usize, flags_before.len(), "{outcome}");
        assert_eq!(red_flags_of(&reporting_db).await, flags_before);
    }

    s.close().await;
}

/// The red flags a reporting database holds, by id.
async fn red_flags_of(
    db: &DatabaseConnection,
) -> Vec<blangkon_reporting::domain::red_flags::RedFlag> {
    let mut flags =
        blangkon_reporting::store::red_flags::list_flags(db, &Default::default(), None, 10_000)
            .await
            .unwrap();
    flags.sort_by(|a, b| a.flag_id.cmp(&b.flag_id));
    flags
}
