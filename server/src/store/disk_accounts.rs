//! [`AccountStore`] on the embedded redb file.

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::StoreError;
use super::accounts::{AccountRecord, AccountStore, RefreshRecord, Renewal, Rotation};
use super::disk::DiskStore;
use super::fail;

/// login name → AccountRecord as JSON.
pub(super) const ACCOUNTS: TableDefinition<&str, &[u8]> = TableDefinition::new("accounts");
/// SHA-256 of a refresh token (hex) → RefreshRecord as JSON.
pub(super) const REFRESH: TableDefinition<&str, &[u8]> = TableDefinition::new("refresh_tokens");
/// family → revoked until (unix seconds).
pub(super) const REVOKED_FAMILIES: TableDefinition<&str, u64> = TableDefinition::new("revoked_families");
/// access token jti → its expiry (unix seconds).
pub(super) const REVOKED_ACCESS: TableDefinition<&str, u64> = TableDefinition::new("revoked_access");

/// The revoked access tokens that would still be alive at `now`.
fn live_revocations(db: &Database, now: u64) -> Result<Vec<(String, u64)>, redb::Error> {
    let table = db.begin_read()?.open_table(REVOKED_ACCESS)?;
    let mut out = Vec::new();
    for row in table.iter()? {
        let (k, v) = row?;
        if v.value() > now {
            out.push((k.value().to_owned(), v.value()));
        }
    }
    Ok(out)
}

impl DiskStore {
    /// The revoked access tokens still alive, read at start (before the runtime serves).
    pub fn revoked_access_now(&self) -> Result<Vec<(String, u64)>, StoreError> {
        live_revocations(self.db(), jsonwebtoken::get_current_timestamp()).map_err(fail)
    }

    /// Writes one `key → until` row of a revocation table.
    async fn put_until(
        &self,
        table: TableDefinition<'static, &'static str, u64>,
        key: String,
        until: u64,
    ) -> Result<(), StoreError> {
        self.blocking(move |db| {
            let txn = db.begin_write()?;
            txn.open_table(table)?.insert(key.as_str(), until)?;
            txn.commit()?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl AccountStore for DiskStore {
    async fn create_account(&self, account: AccountRecord) -> Result<bool, StoreError> {
        let json = serde_json::to_vec(&account).map_err(fail)?;
        self.blocking(move |db| {
            let txn = db.begin_write()?;
            let created = {
                let mut table = txn.open_table(ACCOUNTS)?;
                if table.get(account.name.as_str())?.is_some() {
                    false
                } else {
                    table.insert(account.name.as_str(), json.as_slice())?;
                    true
                }
            };
            txn.commit()?;
            Ok(created)
        })
        .await
    }

    async fn account(&self, name: &str) -> Result<Option<AccountRecord>, StoreError> {
        let name = name.to_owned();
        let raw = self
            .blocking(move |db| {
                Ok(db.begin_read()?.open_table(ACCOUNTS)?.get(name.as_str())?.map(|v| v.value().to_vec()))
            })
            .await?;
        raw.map(|j| serde_json::from_slice(&j).map_err(fail)).transpose()
    }

    async fn put_refresh(&self, hash: String, record: RefreshRecord) -> Result<(), StoreError> {
        let json = serde_json::to_vec(&record).map_err(fail)?;
        self.blocking(move |db| {
            let txn = db.begin_write()?;
            txn.open_table(REFRESH)?.insert(hash.as_str(), json.as_slice())?;
            txn.commit()?;
            Ok(())
        })
        .await
    }

    async fn rotate_refresh(&self, hash: String, renewal: Renewal) -> Result<Rotation, StoreError> {
        self.blocking(move |db| {
            let txn = db.begin_write()?;
            let outcome = {
                let mut tokens = txn.open_table(REFRESH)?;
                let families = txn.open_table(REVOKED_FAMILIES)?;
                let found: Option<RefreshRecord> =
                    tokens.get(hash.as_str())?.and_then(|v| serde_json::from_slice(v.value()).ok());
                let Renewal { next_hash, now, ttl, grace } = renewal;
                let outcome = match found {
                    None => Rotation::Invalid,
                    Some(r) if r.expires_at <= now || families.get(r.family.as_str())?.is_some() => Rotation::Invalid,
                    Some(r) if r.in_grace(now, grace) => Rotation::Raced(r),
                    Some(r) if r.used => Rotation::Reused(r),
                    Some(r) => {
                        let used = RefreshRecord { used: true, used_at: now, ..r.clone() };
                        tokens
                            .insert(hash.as_str(), serde_json::to_vec(&used).expect("records serialize").as_slice())?;
                        Rotation::Rotated(r)
                    }
                };
                if let (Rotation::Rotated(r) | Rotation::Raced(r), Some(next_hash)) = (&outcome, next_hash) {
                    let json = serde_json::to_vec(&r.successor(now, ttl)).expect("records serialize");
                    tokens.insert(next_hash.as_str(), json.as_slice())?;
                }
                outcome
            };
            txn.commit()?;
            Ok(outcome)
        })
        .await
    }

    async fn revoke_family(&self, family: String, until: u64) -> Result<(), StoreError> {
        self.put_until(REVOKED_FAMILIES, family, until).await
    }

    async fn revoke_access(&self, jti: String, exp: u64) -> Result<(), StoreError> {
        self.put_until(REVOKED_ACCESS, jti, exp).await
    }

    async fn revoked_access(&self, now: u64) -> Result<Vec<(String, u64)>, StoreError> {
        self.blocking(move |db| live_revocations(db, now)).await
    }
}
