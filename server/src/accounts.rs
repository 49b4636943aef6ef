//! Registered accounts: register, login (with back-off and lockout), refresh-token rotation with
//! reuse detection, and logout. Guests stay in `auth.rs`; both end in the same access token.

use std::sync::Arc;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use dungeontalk_app::wire::{ErrorCode, Login, MemberId, Register, Registered, Session};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::{Auth, Claims, MAX_NICKNAME_CHARS, session_key};
use crate::cluster::{Channel, Limits};
use crate::config::Settings;
use crate::error::AppError;
use crate::model::now_rfc3339;
use crate::store::accounts::{AccountRecord, AccountStore, RefreshRecord, Renewal, Rotation};

/// Login names: 3–32 of `a-z 0-9 _ . -` (stored lower-case).
pub const NAME_CHARS: std::ops::RangeInclusive<usize> = 3..=32;
/// Passwords: 8–128 characters.
pub const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 8..=128;

/// A signed-in session plus the refresh token for the cookie.
pub struct Issued {
    pub session: Session,
    pub refresh_token: String,
}

/// Accounts and their sessions.
pub struct Accounts {
    store: Arc<dyn AccountStore>,
    /// Failed-login back-off and lockout, counted over every node.
    limits: Arc<dyn Limits>,
    /// Where a logout's revocation goes, so every node refuses the token.
    channel: Arc<dyn Channel>,
    access_ttl_secs: u64,
    refresh_ttl_secs: u64,
    refresh_grace_secs: u64,
    /// Verified against when the name is unknown, so a miss costs what a hit costs.
    dummy_hash: String,
    /// Password hashing, bounded: at most one per core at once, a bounded queue behind them.
    hashing: Hashing,
}

/// Runs password hashes (deliberately slow: ~20 MiB and tens of ms each) at most `cores` at a
/// time on threads of their own, so a login flood cannot exhaust memory or starve anything else;
/// beyond `queue` waiting, a request is refused at once (503, try again).
struct Hashing {
    permits: Arc<tokio::sync::Semaphore>,
    waiting: Arc<std::sync::atomic::AtomicUsize>,
    queue: usize,
}

impl Hashing {
    fn new(cores: usize, queue: usize) -> Hashing {
        Hashing { permits: Arc::new(tokio::sync::Semaphore::new(cores.max(1))), waiting: Arc::default(), queue }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
        use std::sync::atomic::Ordering;
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            let msg = "Too many sign-ins at once; try again in a moment.";
            return Err(AppError::new(ErrorCode::Unavailable, msg).retry_after(1000));
        }
        let permit = self.permits.clone().acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let permit = permit.map_err(internal)?;
        // A thread of its own, not the blocking pool the store's reads use.
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("dt-password".into())
            .spawn(move || {
                let _ = tx.send(work());
                drop(permit);
            })
            .map_err(internal)?;
        rx.await.map_err(internal)
    }
}

fn bad_credentials() -> AppError {
    AppError::new(ErrorCode::BadCredentials, "Wrong account name or password.")
}

fn refresh_invalid() -> AppError {
    AppError::new(ErrorCode::RefreshInvalid, "Your session has ended; log in again.")
}

fn internal(e: impl std::fmt::Display) -> AppError {
    tracing::error!(error = %e, "accounts");
    AppError::new(ErrorCode::Internal, "Something went wrong; try again.")
}

fn hash_password(password: &str) -> Result<String, AppError> {
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).map_err(internal)?;
    let salt = SaltString::encode_b64(&raw).map_err(internal)?;
    Ok(Argon2::default().hash_password(password.as_bytes(), &salt).map_err(internal)?.to_string())
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A new opaque refresh token and the SHA-256 it is stored under.
fn new_refresh_token() -> Result<(String, String), AppError> {
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(internal)?;
    let token: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let hash = token_hash(&token);
    Ok((token, hash))
}

fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn now_secs() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

impl Accounts {
    /// Accounts over `store` with the configured lifetimes and login limits.
    pub fn new(
        store: Arc<dyn AccountStore>,
        limits: Arc<dyn Limits>,
        channel: Arc<dyn Channel>,
        settings: &Settings,
    ) -> Result<Accounts, AppError> {
        Ok(Accounts {
            store,
            limits,
            channel,
            access_ttl_secs: settings.access_token_ttl_secs,
            refresh_ttl_secs: settings.refresh_token_ttl_secs,
            refresh_grace_secs: settings.refresh_grace_secs,
            dummy_hash: hash_password("not-a-real-password")?,
            hashing: Hashing::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
                settings.login_queue_max,
            ),
        })
    }

    /// The refresh token's lifetime (the cookie's Max-Age).
    pub fn refresh_ttl_secs(&self) -> u64 {
        self.refresh_ttl_secs
    }

    /// The access token's lifetime.
    pub fn access_ttl_secs(&self) -> u64 {
        self.access_ttl_secs
    }

    /// The member registered under a login name (any case), if any.
    pub async fn member_named(&self, name: &str) -> Result<Option<MemberId>, AppError> {
        let account = self.store.account(&name.trim().to_lowercase()).await.map_err(internal)?;
        Ok(account.map(|a| a.member_id))
    }

    /// Creates an account; 409 `auth.name_taken` if the name is in use.
    pub async fn register(&self, req: Register) -> Result<Registered, AppError> {
        let name = req.name.trim().to_lowercase();
        let name_ok = NAME_CHARS.contains(&name.chars().count())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !name_ok {
            let msg = "An account name needs 3 to 32 letters, digits, '_', '.' or '-'.";
            return Err(AppError::new(ErrorCode::InvalidRequest, msg));
        }
        let nickname = req.nickname.trim().to_owned();
        let chars = nickname.chars().count();
        if chars == 0 || chars > MAX_NICKNAME_CHARS || nickname.chars().any(char::is_control) {
            let msg = format!("A nickname needs 1 to {MAX_NICKNAME_CHARS} characters.");
            return Err(AppError::new(ErrorCode::InvalidRequest, msg));
        }
        if !PASSWORD_CHARS.contains(&req.password.chars().count()) {
            return Err(AppError::new(ErrorCode::InvalidRequest, "A password needs 8 to 128 characters."));
        }
        let password = req.password;
        let hash = self.hashing.run(move || hash_password(&password)).await??;
        let account = AccountRecord {
            member_id: MemberId(format!("member-{}", Uuid::now_v7())),
            name: name.clone(),
            nickname: nickname.clone(),
            password_hash: hash,
            created_at: now_rfc3339(),
        };
        let member_id = account.member_id.clone();
        if !self.store.create_account(account).await? {
            return Err(AppError::new(ErrorCode::NameTaken, "That account name is taken."));
        }
        Ok(Registered { member_id, name, nickname })
    }

    /// Checks the password (refusing at once while the name backs off), then opens a session.
    pub async fn login(&self, auth: &Auth, req: Login) -> Result<Issued, AppError> {
        let name = req.name.trim().to_lowercase();
        // No lookup, no lockout entry and no hash for a name that cannot exist.
        if !NAME_CHARS.contains(&name.chars().count()) {
            return Err(bad_credentials());
        }
        if let Err(wait) = self.limits.login_check(&name).await? {
            return Err(locked(wait));
        }
        let account = self.store.account(&name).await?;
        let hash = account.as_ref().map_or(self.dummy_hash.clone(), |a| a.password_hash.clone());
        let password = req.password;
        // A password no account can have is wrong without a hash (and still counts as a failure).
        let ok = PASSWORD_CHARS.contains(&password.chars().count())
            && self.hashing.run(move || verify_password(&password, &hash)).await?;
        let Some(account) = account.filter(|_| ok) else {
            let (wait, lock) = self.limits.login_failed(&name).await?;
            return Err(if lock { locked(wait) } else { bad_credentials() });
        };
        self.limits.login_succeeded(&name).await?;
        let (refresh_token, hash) = new_refresh_token()?;
        let record_family = Uuid::now_v7().to_string();
        let record = RefreshRecord {
            member_id: account.member_id.clone(),
            nickname: account.nickname.clone(),
            family: record_family.clone(),
            expires_at: now_secs() + self.refresh_ttl_secs,
            used: false,
            used_at: 0,
        };
        self.store.put_refresh(hash, record).await?;
        // One login is one session: every token renewed from it shares its family as `sid`.
        let access_token = auth.issue(&account.member_id.0, &account.nickname, self.access_ttl_secs, &record_family)?;
        let session = Session { access_token, member_id: account.member_id, nickname: account.nickname };
        Ok(Issued { session, refresh_token })
    }

    /// Trades a live refresh token for a new pair; a reused one revokes its whole family.
    pub async fn refresh(&self, auth: &Auth, token: Option<&str>) -> Result<Issued, AppError> {
        let token = token.ok_or_else(refresh_invalid)?;
        let (next_token, next_hash) = new_refresh_token()?;
        let now = now_secs();
        let renewal =
            Renewal { next_hash: Some(next_hash), now, ttl: self.refresh_ttl_secs, grace: self.refresh_grace_secs };
        match self.store.rotate_refresh(token_hash(token), renewal).await? {
            Rotation::Rotated(old) | Rotation::Raced(old) => {
                let access_token = auth.issue(&old.member_id.0, &old.nickname, self.access_ttl_secs, &old.family)?;
                let session = Session { access_token, member_id: old.member_id, nickname: old.nickname };
                Ok(Issued { session, refresh_token: next_token })
            }
            Rotation::Reused(old) => {
                tracing::warn!(member = %old.member_id, family = %old.family, "refresh token reused; family revoked");
                let until = now + self.refresh_ttl_secs + self.access_ttl_secs;
                // The whole login ends: its refresh tokens, its access tokens, its open streams.
                self.channel.revoke(&session_key(&old.family), until).await?;
                self.store.revoke_family(old.family, now + self.refresh_ttl_secs).await?;
                Err(AppError::new(ErrorCode::RefreshReused, "This session was used elsewhere; log in again."))
            }
            Rotation::Invalid => Err(refresh_invalid()),
        }
    }

    /// Ends a login: every access token of it (renewed ones too) is dead from now on, with the
    /// connections opened with them, and its refresh family.
    pub async fn logout(&self, claims: &Claims, refresh: Option<&str>) -> Result<(), AppError> {
        let now = now_secs();
        self.channel.revoke(&claims.jti, claims.exp).await?;
        if !claims.sid.is_empty() {
            let until = claims.exp.max(now + self.refresh_ttl_secs + self.access_ttl_secs);
            self.channel.revoke(&session_key(&claims.sid), until).await?;
        }
        if let Some(token) = refresh {
            // Rotating into nothing marks the token used; then its family is revoked.
            let renewal = Renewal { next_hash: None, now: now_secs(), ttl: 0, grace: 0 };
            if let Rotation::Rotated(old) | Rotation::Raced(old) | Rotation::Reused(old) =
                self.store.rotate_refresh(token_hash(token), renewal).await?
            {
                self.store.revoke_family(old.family, now_secs() + self.refresh_ttl_secs).await?;
            }
        }
        Ok(())
    }
}

fn locked(wait: Duration) -> AppError {
    let secs = wait.as_secs().max(1);
    let msg = if secs >= 60 {
        format!("Too many failed logins: this account is locked for {} min.", secs.div_ceil(60))
    } else {
        format!("Too many failed logins: wait {secs} s before trying again.")
    };
    AppError::new(ErrorCode::LoginLocked, msg).retry_after(wait.as_millis() as u64)
}
