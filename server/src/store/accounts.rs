//! Accounts, refresh-token families and revoked access tokens: a small trait, so a shared store
//! (MongoDB for accounts, Redis for revocations) can replace the embedded one.

use async_trait::async_trait;
use dungeontalk_app::wire::MemberId;
use serde::{Deserialize, Serialize};

use super::StoreError;

/// A registered account.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountRecord {
    pub member_id: MemberId,
    /// The login name (unique, lower-case).
    pub name: String,
    pub nickname: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub created_at: String,
}

/// One refresh token (stored by its SHA-256, never in clear).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshRecord {
    pub member_id: MemberId,
    pub nickname: String,
    /// Every token rotated from one login shares a family; reuse revokes the family.
    pub family: String,
    /// Unix seconds.
    pub expires_at: u64,
    /// Rotated already: presenting it again is reuse (after the grace window).
    pub used: bool,
    /// When it was rotated (unix seconds; 0 while unused).
    #[serde(default)]
    pub used_at: u64,
}

/// What presenting a refresh token found.
#[derive(Debug)]
pub enum Rotation {
    /// It was live; it is now used and the next token is stored.
    Rotated(RefreshRecord),
    /// It had been rotated moments ago (within the grace window): two tabs renewing at once.
    /// A second successor is stored; the family lives on.
    Raced(RefreshRecord),
    /// It had been used before: a stolen copy, or a replay. The caller revokes the family.
    Reused(RefreshRecord),
    /// Unknown, expired, or its family was revoked.
    Invalid,
}

/// What a rotation stores and how lenient it is.
#[derive(Clone, Debug)]
pub struct Renewal {
    /// The successor's hash; `None` rotates into nothing (logout).
    pub next_hash: Option<String>,
    /// Unix seconds.
    pub now: u64,
    /// The successor's lifetime in seconds.
    pub ttl: u64,
    /// A token rotated less than this many seconds ago may be presented again (0: never).
    pub grace: u64,
}

impl RefreshRecord {
    /// Whether presenting it again at `now` is a concurrent renewal rather than reuse.
    pub fn in_grace(&self, now: u64, grace: u64) -> bool {
        self.used && now < self.used_at.saturating_add(grace)
    }

    /// The record of a successor stored at `now`, living `ttl` seconds.
    pub fn successor(&self, now: u64, ttl: u64) -> RefreshRecord {
        RefreshRecord { expires_at: now + ttl, used: false, used_at: 0, ..self.clone() }
    }
}

/// The durable side of authentication.
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Stores a new account; false when the name is taken.
    async fn create_account(&self, account: AccountRecord) -> Result<bool, StoreError>;
    /// The account with that login name.
    async fn account(&self, name: &str) -> Result<Option<AccountRecord>, StoreError>;
    /// Stores a fresh refresh token (a login).
    async fn put_refresh(&self, hash: String, record: RefreshRecord) -> Result<(), StoreError>;
    /// In one transaction: if `hash` is live (or was rotated less than `r.grace` seconds ago),
    /// marks it used and (with `r.next_hash`) stores a successor in the same family; reports what
    /// it found.
    async fn rotate_refresh(&self, hash: String, r: Renewal) -> Result<Rotation, StoreError>;
    /// Revokes every token of a family until `until` (unix seconds).
    async fn revoke_family(&self, family: String, until: u64) -> Result<(), StoreError>;
    /// Revokes one access token (its `jti`) until it would have expired.
    async fn revoke_access(&self, jti: String, exp: u64) -> Result<(), StoreError>;
    /// Every access token revoked and not yet expired at `now`.
    async fn revoked_access(&self, now: u64) -> Result<Vec<(String, u64)>, StoreError>;
}
