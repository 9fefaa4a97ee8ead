//! Gives back stock that placings reserved and never used.
//!
//! A placing records an attempt before it reserves and deletes it with the
//! order's write, or once it has released the stock after a failure. An
//! attempt older than any call could take belongs to a placing that
//! stopped in between — the process died, or the release failed — and
//! its reservation would otherwise hold the vendor's stock for ever. The
//! sweeper finds those: if the key did produce an order, the attempt is
//! only forgotten; if not, the reservation is released.
//!
//! The attempt is claimed (deleted if unchanged) before the release, so a
//! retry that refreshed it first keeps its stock. One window is left: a
//! retry of the abandoned key that starts after the claim and reserves
//! before the release (milliseconds, minutes after the buyer gave up) would
//! write an order whose stock was given back. Closing it would cost every
//! order a lock; the window is documented instead.

use std::time::Duration;

use blangkon_platform::CancellationToken;
use sea_orm::DatabaseConnection;

use crate::peers::Peers;
use crate::store;

/// Attempts looked at per round.
const BATCH: u64 = 100;

pub struct Sweeper {
    db: DatabaseConnection,
    peers: Peers,
    /// Age after which an attempt is abandoned.
    abandoned_after: Duration,
}

impl Sweeper {
    pub fn new(db: DatabaseConnection, peers: Peers, abandoned_after: Duration) -> Self {
        Self {
            db,
            peers,
            abandoned_after,
        }
    }

    /// Sweeps every fifth of the abandonment age until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let every =
            (self.abandoned_after / 5).clamp(Duration::from_millis(200), Duration::from_secs(60));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
            match self.sweep().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(released = n, "gave back stock of abandoned placings"),
                Err(e) => {
                    tracing::warn!(error = %e, "sweeping abandoned placings failed; next round retries")
                }
            }
        }
    }

    /// One round. Returns how many reservations it released.
    pub async fn sweep(&self) -> Result<usize, SweepError> {
        let before = blangkon_platform::time::now()
            - chrono::Duration::from_std(self.abandoned_after).unwrap_or(chrono::Duration::MAX);
        let mut released = 0;
        for attempt in store::stale_attempts(&self.db, before, BATCH).await? {
            // Claimed first: a retry that refreshed the attempt since it was
            // read keeps it, and so do its reservation and its stock.
            if !store::claim_attempt(&self.db, &attempt).await? {
                continue;
            }
            let key = store::BuyerKey {
                regency: attempt.buyer_regency.clone(),
                work_unit: attempt.work_unit.clone(),
                key: attempt.key.clone(),
            };
            if store::find_key(&self.db, &key).await?.is_some() {
                continue;
            }
            if let Err(e) = self.peers.release(&attempt.reservation_id).await {
                // Put it back for the next round.
                store::record_attempt(&self.db, attempt).await?;
                return Err(SweepError::Release(e.to_string()));
            }
            tracing::info!(reservation = %attempt.reservation_id, work_unit = %attempt.work_unit, "released the stock of an abandoned placing");
            released += 1;
        }
        Ok(released)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("releasing a reservation: {0}")]
    Release(String),
}
