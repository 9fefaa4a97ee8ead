//! The catalog service as the platform's skeleton runs it: the gRPC API,
//! the vendor-status projection and the search feed.

use std::sync::Arc;
use std::time::Duration;

use blangkon_platform::host::ServiceHost;
use blangkon_platform::kafka::topics;
use blangkon_platform::metrics::exponential_buckets;
use blangkon_platform::service::{About, Service, StartError};
use blangkon_proto::catalog::catalog_service_server::{CatalogServiceServer, SERVICE_NAME};
use tonic::service::Routes;

use crate::api::CatalogApi;
use crate::events::{self, VendorProjection};
use crate::search::Search;
use crate::settings::Settings;
use crate::{Catalog, CatalogService};

/// The methods a caller without a token may call (as the public).
const PUBLIC_METHODS: &[&str] = &["ListCategories", "GetProduct", "SearchProducts"];

impl Service for CatalogService {
    const ABOUT: About =
        About::new("catalog", 50052, &[SERVICE_NAME], events::TOPICS).publishing(8052);
    type Section = crate::settings::CatalogSettings;
    type Migrator = crate::store::migrations::Migrator;

    async fn build(host: &mut ServiceHost, settings: &Settings) -> Result<Routes, StartError> {
        host.consume(
            events::VENDOR_PROJECTION,
            &[topics::VENDOR_EVENTS],
            Arc::new(VendorProjection),
        )?;
        let db = host.database().clone();
        let query_threads = match settings.service.search_threads {
            0 => std::thread::available_parallelism().map_or(2, usize::from),
            n => n,
        };
        let poll = Duration::from_millis(settings.service.search_poll_ms);
        let (search, from) = Search::load(
            &db,
            settings.service.search_index_dir.as_deref(),
            query_threads,
            poll,
        )
        .await
        .map_err(|e| StartError::step("building the search index", e))?;
        let indexed = search.clone();
        host.metrics().gauge_fn(
            "catalog_search_products",
            "Listed products this replica's search index holds",
            move || i64::try_from(indexed.products()).unwrap_or(i64::MAX),
        );
        let stems = search.clone();
        host.metrics().gauge_fn(
            "catalog_stem_cache_words",
            "Word stems this replica's search keeps cached (bounded: the least recently used go)",
            move || i64::try_from(stems.stem_cache().words).unwrap_or(i64::MAX),
        );
        let stems = search.clone();
        host.metrics().counter_fn(
            "catalog_stem_cache_hits",
            "Words whose stem the cache held",
            move || stems.stem_cache().hits,
        );
        let stems = search.clone();
        host.metrics().counter_fn(
            "catalog_stem_cache_misses",
            "Words stemmed with the dictionary, the cache not holding them",
            move || stems.stem_cache().misses,
        );
        let scanning = search.clone();
        host.metrics().counter_fn(
            "catalog_search_scans",
            "Searches that ran over this replica's index (a repeated browse without words is \
             answered from memory until the index or a vendor changes)",
            move || scanning.scans(),
        );
        let fresh = search.clone();
        host.metrics().seconds_fn(
            "catalog_search_behind_seconds",
            "How long ago this replica's search index last held every committed product change",
            move || fresh.behind(),
        );
        let refresh_lag = host.metrics().histogram(
            "catalog_search_refresh_lag_seconds",
            "From a product or vendor change's commit to this replica's search index applying it",
            exponential_buckets(0.001, 2.0, 16),
        );
        let feed = search.clone();
        let feed_db = db.clone();
        host.run_beside("search feed", move |shutdown| {
            feed.follow(feed_db, from, poll, refresh_lag, shutdown)
        });
        let catalog = Catalog::new(db, host.waker(), search, settings.service.max_price);
        let api = CatalogApi::new(catalog);
        host.publish(crate::http::routes(
            api.clone(),
            host.http_settings().clone(),
        ));
        // The storefront's reads are open to the public without a token,
        // over gRPC as over HTTP; the policy decides what they see.
        Ok(Routes::new(host.with_public_methods(
            CatalogServiceServer::new(api).max_decoding_message_size(host.max_message_bytes()),
            PUBLIC_METHODS,
        )))
    }
}
