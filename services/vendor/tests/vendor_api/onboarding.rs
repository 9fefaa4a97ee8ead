//! Registering, verifying and listing vendors, with bad input refused.

use super::*;

#[tokio::test]
async fn bad_input_is_refused_with_every_bad_field_named_and_nothing_written() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    app.join(SEMARANG).await;
    let outbox_before = app.count("outbox").await;

    let bad = pb::RegisterVendorRequest {
        name: "   ".into(),
        nik: "33740117084".into(),
        scale: 0,
        regency_code: "Semarang".into(),
        contact: Some(pb::Contact {
            phone: "call me".into(),
            email: "sri-at-example".into(),
        }),
        ..individual(SEMARANG, 8)
    };
    let status = client
        .register_vendor(app.as_regency(SEMARANG, bad))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&status),
        [
            "contact.email",
            "contact.phone",
            "name",
            "nik",
            "regency_code",
            "scale"
        ]
    );
    assert!(
        status.message().contains("nik must be 16 digits"),
        "{}",
        status.message()
    );

    // An enum value outside the contract, and the NIK's own regency code.
    let status = client
        .register_vendor(app.as_regency(
            SEMARANG,
            pb::RegisterVendorRequest {
                legal_form: 42,
                ..individual(SEMARANG, 9)
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["legal_form"]);
    let status = client
        .register_vendor(app.as_regency(
            SEMARANG,
            pb::RegisterVendorRequest {
                nik: "9999011708800001".into(),
                ..individual(SEMARANG, 10)
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["nik"]);

    let status = client
        .reject_vendor(app.as_regency(
            SEMARANG,
            pb::RejectVendorRequest {
                vendor_id: "not-a-uuid".into(),
                reason: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["vendor_id"]);
    let status = client
        .list_vendors(app.as_province(pb::ListVendorsRequest {
            page_size: 10_000,
            page_token: "%%%".into(),
            status: 99,
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&status),
        ["page_size", "page_token", "status"]
    );

    assert_eq!(app.count("vendors").await, 0);
    assert_eq!(app.count("vendor_status_history").await, 0);
    assert_eq!(app.count("outbox").await, outbox_before);
    app.stop().await;
}

#[tokio::test]
async fn a_duplicate_identifier_goes_to_review_without_revealing_itself() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    app.join(SEMARANG).await;
    let first = client
        .register_vendor(app.as_regency(SEMARANG, individual(SEMARANG, 11)))
        .await
        .unwrap()
        .into_inner();
    let company_first = client
        .register_vendor(app.as_regency(SEMARANG, company(SEMARANG, 12)))
        .await
        .unwrap()
        .into_inner();
    client
        .verify_vendor(app.as_regency(
            SEMARANG,
            pb::VerifyVendorRequest {
                vendor_id: first.id.clone(),
                note: String::new(),
            },
        ))
        .await
        .unwrap();

    // Someone registers themselves with a NIK that is taken: the answer is
    // what any registration gets, a pending vendor of their own.
    let fresh = client
        .register_vendor(app.as_vendor("umkm-a", None, individual(SEMARANG, 99)))
        .await
        .unwrap()
        .into_inner();
    let same_nik = client
        .register_vendor(app.as_vendor(
            "umkm-b",
            None,
            pb::RegisterVendorRequest {
                name: "Someone else".into(),
                ..individual(SEMARANG, 11)
            },
        ))
        .await
        .unwrap()
        .into_inner();
    for answer in [&fresh, &same_nik] {
        assert_eq!(answer.status, pb::VendorStatus::Pending as i32);
        assert_eq!(answer.duplicate_of, "", "the registrant is not told");
    }
    // The regency's admin sees it in review, and cannot verify it while
    // the first holder is active.
    let reviewed = client
        .get_vendor(app.as_regency(
            SEMARANG,
            pb::GetVendorRequest {
                vendor_id: same_nik.id.clone(),
                view: pb::VendorView::Basic as i32,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reviewed.duplicate_of, first.id);
    let refused = client
        .verify_vendor(app.as_regency(
            SEMARANG,
            pb::VerifyVendorRequest {
                vendor_id: same_nik.id.clone(),
                note: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().contains("reject this registration"),
        "{refused:?}"
    );
    assert!(!refused.message().contains(&individual(SEMARANG, 11).nik));

    // The same for a company's NIB and NPWP.
    for duplicate in [
        pb::RegisterVendorRequest {
            npwp: "098765432109876".into(),
            ..company(SEMARANG, 12)
        },
        pb::RegisterVendorRequest {
            nib: "9120099999999".into(),
            ..company(SEMARANG, 12)
        },
    ] {
        let answer = client
            .register_vendor(app.as_regency(SEMARANG, duplicate))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer.duplicate_of, company_first.id);
    }
    assert_eq!(app.count("vendors").await, 6);
    app.stop().await;
}

#[tokio::test]
async fn the_verification_state_machine_is_enforced_and_every_step_is_recorded() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let vendor = app.joined_vendor(13).await;
    let id = vendor.id.clone();
    assert_eq!(vendor.status, pb::VendorStatus::Pending as i32);

    let reinstate_pending = client
        .reinstate_vendor(app.as_province(pb::ReinstateVendorRequest {
            vendor_id: id.clone(),
            note: String::new(),
        }))
        .await
        .unwrap_err();
    assert_eq!(reinstate_pending.code(), Code::FailedPrecondition);
    assert!(
        reinstate_pending
            .message()
            .contains("pending vendor cannot be reinstated")
    );

    let no_reason = client
        .suspend_vendor(app.as_province(pb::SuspendVendorRequest {
            vendor_id: id.clone(),
            reason: " ".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&no_reason), ["reason"]);

    client
        .verify_vendor(app.as_regency(
            SEMARANG,
            pb::VerifyVendorRequest {
                vendor_id: id.clone(),
                note: "KTP and bank book checked".into(),
            },
        ))
        .await
        .unwrap();
    let twice = client
        .verify_vendor(app.as_regency(
            SEMARANG,
            pb::VerifyVendorRequest {
                vendor_id: id.clone(),
                note: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::FailedPrecondition);
    let reject_verified = client
        .reject_vendor(app.as_regency(
            SEMARANG,
            pb::RejectVendorRequest {
                vendor_id: id.clone(),
                reason: "too late".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(reject_verified.code(), Code::FailedPrecondition);

    let suspended = client
        .suspend_vendor(app.as_regency(
            SEMARANG,
            pb::SuspendVendorRequest {
                vendor_id: id.clone(),
                reason: "complaint about food safety".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(suspended.status, pb::VendorStatus::Suspended as i32);
    let history: Vec<(i32, i32, String, String)> = suspended
        .history
        .iter()
        .map(|h| {
            (
                h.from_status,
                h.to_status,
                h.actor.clone(),
                h.reason.clone(),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            (
                0,
                pb::VendorStatus::Pending as i32,
                "admin@33.74".into(),
                "registered".into()
            ),
            (
                pb::VendorStatus::Pending as i32,
                pb::VendorStatus::Verified as i32,
                "admin@33.74".into(),
                "KTP and bank book checked".into()
            ),
            (
                pb::VendorStatus::Verified as i32,
                pb::VendorStatus::Suspended as i32,
                "admin@33.74".into(),
                "complaint about food safety".into()
            ),
        ]
    );
    assert!(
        suspended
            .history
            .iter()
            .all(|h| h.actor_role == "regency_admin" && h.changed_at.is_some())
    );

    let unknown = client
        .verify_vendor(app.as_province(pb::VerifyVendorRequest {
            vendor_id: uuid::Uuid::now_v7().to_string(),
            note: String::new(),
        }))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    app.stop().await;
}

#[tokio::test]
async fn listing_filters_and_pages_without_skipping_or_repeating() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    app.join(SEMARANG).await;
    app.join(CILACAP).await;
    let mut semarang_ids = Vec::new();
    for serial in 20..33 {
        let regency = if serial % 3 == 0 { CILACAP } else { SEMARANG };
        let request = if serial % 2 == 0 {
            individual(regency, serial)
        } else {
            company(regency, serial)
        };
        let v = client
            .register_vendor(app.as_province(request))
            .await
            .unwrap()
            .into_inner();
        if regency == SEMARANG {
            semarang_ids.push(v.id);
        }
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = client
            .list_vendors(app.as_regency(
                SEMARANG,
                pb::ListVendorsRequest {
                    page_size: 3,
                    page_token: token.clone(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        seen.extend(page.vendors.into_iter().map(|v| v.id));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(
        seen, semarang_ids,
        "every Semarang vendor once, in registration order"
    );
    assert_eq!(pages, semarang_ids.len().div_ceil(3));

    let companies = client
        .list_vendors(app.as_province(pb::ListVendorsRequest {
            legal_form: pb::LegalForm::Cv as i32,
            scale: pb::Scale::Small as i32,
            regency_code: CILACAP.into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(companies.vendors.len(), 2); // serials 21 and 27
    let by_name = client
        .list_vendors(app.as_province(pb::ListVendorsRequest {
            name_contains: "batik lasem 2".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_name.vendors.len(), 5); // 21, 23, 25, 27, 29
    // `%` and `_` are what they are, not patterns matching anything.
    for wildcard in ["%", "_", "batik_lasem", "batik%2", "\\"] {
        let matched = client
            .list_vendors(app.as_province(pb::ListVendorsRequest {
                name_contains: wildcard.into(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(matched.vendors.is_empty(), "{wildcard:?} matched");
    }
    let regencies = client
        .list_regencies(app.as_role(
            Role::Analyst,
            pb::ListRegenciesRequest {
                joined_only: true,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let counts: Vec<(String, i64)> = regencies
        .regencies
        .iter()
        .map(|r| (r.code.clone(), r.vendor_count))
        .collect();
    assert_eq!(
        counts,
        [(CILACAP.to_string(), 4), (SEMARANG.to_string(), 9)]
    );
    app.stop().await;
}
