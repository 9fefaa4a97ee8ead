//! Who may act on which vendor, and callers without a valid token.

use super::*;

#[tokio::test]
async fn a_regency_admin_cannot_act_on_another_regencys_vendor() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let vendor = app.joined_vendor(3).await;
    app.join(CILACAP).await;

    let verify = client
        .verify_vendor(app.as_regency(
            CILACAP,
            pb::VerifyVendorRequest {
                vendor_id: vendor.id.clone(),
                note: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(verify.code(), Code::PermissionDenied);
    let get = client
        .get_vendor(app.as_regency(
            CILACAP,
            pb::GetVendorRequest {
                vendor_id: vendor.id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(get.code(), Code::PermissionDenied);
    let list = client
        .list_vendors(app.as_regency(
            CILACAP,
            pb::ListVendorsRequest {
                regency_code: SEMARANG.into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(list.code(), Code::PermissionDenied);
    let register = client
        .register_vendor(app.as_regency(CILACAP, individual(SEMARANG, 4)))
        .await
        .unwrap_err();
    assert_eq!(register.code(), Code::PermissionDenied);
    let training = client
        .record_training(app.as_regency(
            CILACAP,
            pb::RecordTrainingRequest {
                vendor_id: vendor.id.clone(),
                topic: "Foto produk".into(),
                kind: pb::TrainingKind::Training as i32,
                attended_on: "2026-01-10".into(),
                organizer: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(training.code(), Code::PermissionDenied);

    // Listing without a filter shows Cilacap's admin only Cilacap.
    let own = client
        .list_vendors(app.as_regency(CILACAP, pb::ListVendorsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(own.vendors.is_empty());

    // Nothing changed: the vendor is still pending with one history line.
    let still = client
        .get_vendor(app.as_province(pb::GetVendorRequest {
            vendor_id: vendor.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(still.status, pb::VendorStatus::Pending as i32);
    assert_eq!(still.history.len(), 1);

    // The basic view is the same vendor without history and trainings.
    let basic = client
        .get_vendor(app.as_province(pb::GetVendorRequest {
            vendor_id: vendor.id.clone(),
            view: pb::VendorView::Basic as i32,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        basic,
        pb::Vendor {
            history: Vec::new(),
            trainings: Vec::new(),
            ..still
        }
    );
    let bad_view = client
        .get_vendor(app.as_province(pb::GetVendorRequest {
            vendor_id: vendor.id,
            view: 99,
        }))
        .await
        .unwrap_err();
    assert_eq!(bad_view.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&bad_view), ["view"]);
    app.stop().await;
}

#[tokio::test]
async fn roles_that_do_not_administer_vendors_are_refused() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let vendor = app.joined_vendor(5).await;
    for role in [Role::Buyer, Role::Analyst, Role::Service, Role::Vendor] {
        let status = client
            .verify_vendor(app.as_role(
                role,
                pb::VerifyVendorRequest {
                    vendor_id: vendor.id.clone(),
                    note: String::new(),
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{role}");
        let status = client
            .join_regency(app.as_role(
                role,
                pb::JoinRegencyRequest {
                    code: CILACAP.into(),
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{role}");
    }
    let status = client
        .join_regency(app.as_regency(
            SEMARANG,
            pb::JoinRegencyRequest {
                code: CILACAP.into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    app.stop().await;
}

#[tokio::test]
async fn an_individual_vendors_address_and_history_are_for_its_administrators_only() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let vendor = app.joined_vendor(7).await;
    assert!(!vendor.address.is_empty());
    let full = |vendor_id: &str| pb::GetVendorRequest {
        vendor_id: vendor_id.into(),
        view: pb::VendorView::Full as i32,
    };
    for role in [Role::Buyer, Role::Analyst, Role::Service] {
        let seen = client
            .get_vendor(app.as_role(role, full(&vendor.id)))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(seen.name, vendor.name, "{role}");
        assert_eq!(seen.address, "", "{role} sees no home address");
        assert_eq!(seen.nik, "", "{role}");
        assert!(seen.history.is_empty(), "{role} sees no history");
    }
    let administered = client
        .get_vendor(app.as_regency(SEMARANG, full(&vendor.id)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(administered.address, vendor.address);
    assert_eq!(administered.history.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_missing_or_bad_token_is_unauthenticated() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let list = || pb::ListRegenciesRequest::default();

    let none = client
        .list_regencies(Request::new(list()))
        .await
        .unwrap_err();
    assert_eq!(none.code(), Code::Unauthenticated);

    let mut garbage = Request::new(list());
    garbage
        .metadata_mut()
        .insert("authorization", "Bearer not.a.jwt".parse().unwrap());
    assert_eq!(
        client.list_regencies(garbage).await.unwrap_err().code(),
        Code::Unauthenticated
    );

    // The issuer's name, a key it never published.
    let forged = LocalIssuer::generate(blangkon_testkit::fixtures::issuer().issuer())
        .issue(
            Role::ProvinceAdmin,
            &TokenRequest {
                subject: "admin".into(),
                ..TokenRequest::default()
            },
            &[audience_of("vendor")],
            Duration::from_secs(60),
        )
        .unwrap();
    let mut forged_request = Request::new(list());
    forged_request
        .metadata_mut()
        .insert("authorization", format!("Bearer {forged}").parse().unwrap());
    assert_eq!(
        client
            .list_regencies(forged_request)
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );

    let mut basic = Request::new(list());
    basic
        .metadata_mut()
        .insert("authorization", "Basic YWRtaW46YWRtaW4=".parse().unwrap());
    assert_eq!(
        client.list_regencies(basic).await.unwrap_err().code(),
        Code::Unauthenticated
    );

    // The same call with a good token works.
    let ok = client
        .list_regencies(app.as_province(list()))
        .await
        .unwrap();
    assert_eq!(ok.into_inner().regencies.len(), 35);
    app.stop().await;
}

#[tokio::test]
async fn a_vendor_registers_itself_only_into_a_joined_regency_and_sees_only_itself() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let not_joined = client
        .register_vendor(app.as_vendor("umkm-1", None, individual(CILACAP, 14)))
        .await
        .unwrap_err();
    assert_eq!(not_joined.code(), Code::FailedPrecondition);
    assert!(not_joined.message().contains("has not joined"));

    app.join(CILACAP).await;
    let own = client
        .register_vendor(app.as_vendor("umkm-1", None, individual(CILACAP, 14)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own.status, pb::VendorStatus::Pending as i32);
    let again = client
        .register_vendor(app.as_vendor("umkm-1", None, individual(CILACAP, 15)))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::AlreadyExists);

    let seen = client
        .get_vendor(app.as_vendor(
            "umkm-1",
            None,
            pb::GetVendorRequest {
                vendor_id: own.id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(seen.nik, own.nik);
    let other = client
        .register_vendor(app.as_regency(CILACAP, individual(CILACAP, 16)))
        .await
        .unwrap()
        .into_inner();
    let refused = client
        .get_vendor(app.as_vendor(
            "umkm-1",
            Some(&own.id),
            pb::GetVendorRequest {
                vendor_id: other.id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);

    // A buyer sees the public record only: no NIK, contact or bank account.
    let public = client
        .get_vendor(app.as_role(
            Role::Buyer,
            pb::GetVendorRequest {
                vendor_id: other.id,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(public.nik.is_empty() && public.contact.is_none() && public.bank_account.is_none());
    assert_eq!(public.name, "Katering Bu Sri 16");
    app.stop().await;
}
