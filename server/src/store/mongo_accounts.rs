//! [`AccountStore`] on MongoDB: `accounts` (by login name), `refresh_tokens` (by hash), and the
//! revocation collections; expired entries carry an `expireAt` date with a TTL index.

use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::Collection;
use mongodb::IndexModel;
use mongodb::bson::{DateTime, Document, doc};
use mongodb::options::{IndexOptions, ReturnDocument};

use super::StoreError;
use super::accounts::{AccountRecord, AccountStore, RefreshRecord, Renewal, Rotation};
use super::mongo::{MongoStore, fail};

const DUPLICATE_KEY: i32 = 11000;

fn expire_at(unix_secs: u64) -> DateTime {
    DateTime::from_millis((unix_secs as i64).saturating_mul(1000))
}

impl MongoStore {
    fn accounts(&self) -> Collection<Document> {
        self.db.collection("accounts")
    }
    fn refresh(&self) -> Collection<Document> {
        self.db.collection("refresh_tokens")
    }
    fn revoked_families(&self) -> Collection<Document> {
        self.db.collection("revoked_families")
    }
    fn revoked_access_tokens(&self) -> Collection<Document> {
        self.db.collection("revoked_access")
    }

    /// TTL indexes: MongoDB deletes what has expired (the code never relies on it).
    pub(super) async fn create_account_indexes(&self) -> Result<(), StoreError> {
        let ttl = || {
            IndexModel::builder()
                .keys(doc! {"expireAt": 1})
                .options(IndexOptions::builder().expire_after(std::time::Duration::ZERO).build())
                .build()
        };
        for coll in [self.refresh(), self.revoked_families(), self.revoked_access_tokens()] {
            coll.create_index(ttl()).await.map_err(fail)?;
        }
        Ok(())
    }
}

fn refresh_doc(hash: &str, r: &RefreshRecord) -> Result<Document, StoreError> {
    let mut d = mongodb::bson::to_document(r).map_err(fail)?;
    d.insert("_id", hash);
    d.insert("expireAt", expire_at(r.expires_at));
    Ok(d)
}

#[async_trait]
impl AccountStore for MongoStore {
    async fn create_account(&self, account: AccountRecord) -> Result<bool, StoreError> {
        let mut d = mongodb::bson::to_document(&account).map_err(fail)?;
        d.insert("_id", account.name.as_str());
        match self.accounts().insert_one(d).await {
            Ok(_) => Ok(true),
            Err(e) if matches!(*e.kind, mongodb::error::ErrorKind::Write(mongodb::error::WriteFailure::WriteError(ref w)) if w.code == DUPLICATE_KEY) => {
                Ok(false)
            }
            Err(e) => Err(fail(e)),
        }
    }

    async fn account(&self, name: &str) -> Result<Option<AccountRecord>, StoreError> {
        let found = self.accounts().find_one(doc! {"_id": name}).await.map_err(fail)?;
        found.map(|d| mongodb::bson::from_document(d).map_err(fail)).transpose()
    }

    async fn put_refresh(&self, hash: String, record: RefreshRecord) -> Result<(), StoreError> {
        self.refresh().insert_one(refresh_doc(&hash, &record)?).await.map_err(fail)?;
        Ok(())
    }

    async fn rotate_refresh(&self, hash: String, renewal: Renewal) -> Result<Rotation, StoreError> {
        let Renewal { next_hash, now, ttl, grace } = renewal;
        // Marking it used is one atomic step: of two concurrent rotations, one wins.
        let live = doc! {"_id": hash.as_str(), "used": false, "expiresAt": {"$gt": now as i64}};
        let taken = self
            .refresh()
            .find_one_and_update(live, doc! {"$set": {"used": true, "usedAt": now as i64}})
            .return_document(ReturnDocument::Before)
            .await
            .map_err(fail)?;
        let outcome = match taken {
            Some(taken) => Rotation::Rotated(mongodb::bson::from_document(taken).map_err(fail)?),
            None => {
                let found = self.refresh().find_one(doc! {"_id": hash.as_str()}).await.map_err(fail)?;
                match found.and_then(|d| mongodb::bson::from_document::<RefreshRecord>(d).ok()) {
                    Some(r) if r.expires_at <= now => Rotation::Invalid,
                    Some(r) if r.in_grace(now, grace) => Rotation::Raced(r),
                    Some(r) if r.used => Rotation::Reused(r),
                    _ => Rotation::Invalid,
                }
            }
        };
        let (Rotation::Rotated(record) | Rotation::Raced(record) | Rotation::Reused(record)) = &outcome else {
            return Ok(outcome);
        };
        if self.family_revoked(&record.family).await? {
            return Ok(Rotation::Invalid);
        }
        if let (Rotation::Rotated(r) | Rotation::Raced(r), Some(next_hash)) = (&outcome, next_hash) {
            self.refresh().insert_one(refresh_doc(&next_hash, &r.successor(now, ttl))?).await.map_err(fail)?;
        }
        Ok(outcome)
    }

    async fn revoke_family(&self, family: String, until: u64) -> Result<(), StoreError> {
        let d = doc! {"_id": family.as_str(), "until": until as i64, "expireAt": expire_at(until)};
        self.revoked_families().replace_one(doc! {"_id": family.as_str()}, d).upsert(true).await.map_err(fail)?;
        Ok(())
    }

    async fn revoke_access(&self, jti: String, exp: u64) -> Result<(), StoreError> {
        let d = doc! {"_id": jti.as_str(), "exp": exp as i64, "expireAt": expire_at(exp)};
        self.revoked_access_tokens().replace_one(doc! {"_id": jti.as_str()}, d).upsert(true).await.map_err(fail)?;
        Ok(())
    }

    async fn revoked_access(&self, now: u64) -> Result<Vec<(String, u64)>, StoreError> {
        let docs: Vec<Document> = self
            .revoked_access_tokens()
            .find(doc! {"exp": {"$gt": now as i64}})
            .await
            .map_err(fail)?
            .try_collect()
            .await
            .map_err(fail)?;
        Ok(docs
            .iter()
            .filter_map(|d| Some((d.get_str("_id").ok()?.to_owned(), d.get_i64("exp").ok()? as u64)))
            .collect())
    }
}

impl MongoStore {
    async fn family_revoked(&self, family: &str) -> Result<bool, StoreError> {
        Ok(self.revoked_families().find_one(doc! {"_id": family}).await.map_err(fail)?.is_some())
    }
}
