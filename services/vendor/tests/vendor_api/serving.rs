//! Restarts, regencies from configuration, health and reflection.

use super::*;

#[tokio::test]
async fn data_survives_a_restart() {
    let app = spawn_app().await;
    let vendor = app.joined_vendor(40).await;
    let (db, kafka) = app.stop().await;

    let app = spawn_with(db, kafka).await;
    let again = app
        .client()
        .await
        .get_vendor(app.as_province(pb::GetVendorRequest {
            vendor_id: vendor.id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.name, vendor.name);
    assert_eq!(again.nik, vendor.nik);
    let regencies = app
        .client()
        .await
        .list_regencies(app.as_province(pb::ListRegenciesRequest {
            joined_only: true,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(regencies.regencies.len(), 1);
    assert_eq!(regencies.regencies[0].verified_vendor_count, 0);
    assert_eq!(regencies.regencies[0].vendor_count, 1);
    app.stop().await;
}

#[tokio::test]
async fn regencies_can_be_added_by_api_and_by_configuration() {
    let db = blangkon_testkit::TestDatabase::new().await;
    let app = spawn_with_settings(db, TestKafka::new(), |s| {
        s.service.0.push(blangkon_vendor::settings::RegencySetting {
            code: "31.71".into(),
            name: "Jakarta Selatan".into(),
            kind: blangkon_vendor::domain::regency::RegencyKind::Kota,
        });
    })
    .await;
    let mut client = app.client().await;
    let added = client
        .add_regency(app.as_province(pb::AddRegencyRequest {
            code: "34.71".into(),
            name: "Yogyakarta".into(),
            kind: pb::RegencyKind::Kota as i32,
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(!added.joined);
    let twice = client
        .add_regency(app.as_province(pb::AddRegencyRequest {
            code: "34.71".into(),
            name: "Yogyakarta".into(),
            kind: pb::RegencyKind::Kota as i32,
        }))
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::AlreadyExists);
    let all = client
        .list_regencies(app.as_province(pb::ListRegenciesRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.regencies.len(), 37);
    // A NIK from the configured Jakarta code is now a real code.
    app.join(SEMARANG).await;
    client
        .register_vendor(app.as_regency(
            SEMARANG,
            pb::RegisterVendorRequest {
                nik: "3171011708800001".into(),
                ..individual(SEMARANG, 41)
            },
        ))
        .await
        .unwrap();
    app.stop().await;
}

#[tokio::test]
async fn health_and_reflection_are_served_beside_the_api() {
    use tonic_health::pb::health_client::HealthClient;
    let app = spawn_app().await;
    let mut health = HealthClient::new(app.channel().await);
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "blangkon.vendor.v1.VendorService".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        status.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_request::MessageRequest,
        server_reflection_response::MessageResponse,
    };
    let mut reflection = ServerReflectionClient::new(app.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection response");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"blangkon.vendor.v1.VendorService".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"grpc.health.v1.Health".to_string()),
        "{names:?}"
    );
    app.stop().await;
}
