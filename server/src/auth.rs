//! Access tokens: issuing (guest login) and verifying (every handshake and REST call).
//!
//! HS256 only: a token signed with any other algorithm, `none` included, is refused.

use std::path::Path;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::{HeaderMap, header};
use dungeontalk_app::wire::{ErrorCode, MemberId, Session};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::Settings;
use crate::error::AppError;
use crate::model::{Actor, Revoked, Watch};

/// What an access token says.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The member id: the only source of identity.
    pub sub: String,
    /// The nickname shown to others.
    pub nick: String,
    pub iat: u64,
    pub exp: u64,
    /// A unique id per token.
    pub jti: String,
    /// The login session: every access token of one login (renewed ones too) shares it, so a
    /// logout ends them all.
    #[serde(default)]
    pub sid: String,
}

/// The revocation key of a login session.
pub fn session_key(sid: &str) -> String {
    format!("sid:{sid}")
}

impl Claims {
    /// Who the token names.
    pub fn into_actor(self) -> Actor {
        Actor { member_id: MemberId(self.sub), nickname: self.nick }
    }
}

/// Signs and verifies access tokens, and knows which ones were revoked by logging out.
pub struct Auth {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    guest_ttl_secs: u64,
    /// Tokens revoked before their time; checked on every verify. The cluster's channel fills it
    /// (loaded at start, then every logout on any node).
    revoked: Arc<Revoked>,
}

impl Auth {
    /// How long a guest token lives, in seconds.
    pub fn guest_ttl_secs(&self) -> u64 {
        self.guest_ttl_secs
    }
}

/// Longest nickname, in characters.
pub const MAX_NICKNAME_CHARS: usize = 20;

impl Auth {
    /// Keys from the configured secret, or from one generated once and kept in the data dir.
    pub fn from_settings(settings: &Settings, revoked: Arc<Revoked>) -> std::io::Result<Auth> {
        let secret = match &settings.jwt_secret {
            Some(s) => s.expose().to_vec(),
            None => load_or_create_secret(&settings.data_dir)?,
        };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Ok(Auth {
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
            validation,
            guest_ttl_secs: settings.guest_token_ttl_secs,
            revoked,
        })
    }

    /// A guest session for a nickname (trimmed; 1–20 characters, no control characters).
    pub fn guest(&self, nickname: &str) -> Result<Session, AppError> {
        let nickname = nickname.trim();
        let chars = nickname.chars().count();
        if chars == 0 || chars > MAX_NICKNAME_CHARS || nickname.chars().any(char::is_control) {
            let msg = format!("A nickname needs 1 to {MAX_NICKNAME_CHARS} characters.");
            return Err(AppError::new(ErrorCode::InvalidRequest, msg));
        }
        let member_id = format!("guest-{}", Uuid::now_v7());
        let sid = Uuid::now_v7().to_string();
        let access_token = self.issue(&member_id, nickname, self.guest_ttl_secs, &sid)?;
        Ok(Session { access_token, member_id: MemberId(member_id), nickname: nickname.to_owned() })
    }

    /// Signs a token for `member_id` of login session `sid` that lives `ttl_secs`.
    pub fn issue(&self, member_id: &str, nickname: &str, ttl_secs: u64, sid: &str) -> Result<String, AppError> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: member_id.to_owned(),
            nick: nickname.to_owned(),
            iat: now,
            exp: now + ttl_secs,
            jti: Uuid::now_v7().to_string(),
            sid: sid.to_owned(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|e| {
            tracing::error!(error = %e, "cannot sign a token");
            AppError::new(ErrorCode::Internal, "Could not sign in; try again.")
        })
    }

    /// The actor a token names, or 401 with why it was refused.
    pub fn verify(&self, token: &str) -> Result<Actor, AppError> {
        self.claims(token).map(Claims::into_actor)
    }

    /// A token's verified claims, or 401 with why it was refused.
    pub fn claims(&self, token: &str) -> Result<Claims, AppError> {
        let claims = match jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation) {
            Ok(data) => data.claims,
            Err(e) if matches!(e.kind(), ErrorKind::ExpiredSignature) => {
                return Err(AppError::new(ErrorCode::TokenExpired, "Your session has expired; sign in again."));
            }
            Err(_) => return Err(AppError::new(ErrorCode::InvalidToken, "The access token is not valid.")),
        };
        if self.is_revoked(&claims) {
            return Err(Revocation::error());
        }
        Ok(claims)
    }

    fn is_revoked(&self, claims: &Claims) -> bool {
        self.revoked.contains(&claims.jti)
            || (!claims.sid.is_empty() && self.revoked.contains(&session_key(&claims.sid)))
    }

    /// Watches one token: a connection opened with it ends when its login is logged out, and
    /// when it expires.
    pub fn watch(&self, claims: &Claims) -> Revocation {
        let leeway = self.validation.leeway;
        let expires =
            std::time::Duration::from_secs((claims.exp + leeway).saturating_sub(jsonwebtoken::get_current_timestamp()));
        let sid = session_key(&claims.sid);
        let keys: &[&str] = if claims.sid.is_empty() { &[&claims.jti] } else { &[&claims.jti, &sid] };
        Revocation { watch: Some(self.revoked.watch(keys, tokio::time::Instant::now() + expires)) }
    }
}

/// Why a connection's token stopped being good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    LoggedOut,
    Expired,
}

impl Ended {
    /// The error a connection sends before it closes.
    pub fn error(self) -> AppError {
        match self {
            Ended::LoggedOut => Revocation::error(),
            Ended::Expired => {
                AppError::new(ErrorCode::TokenExpired, "Your session has expired; renew it and reconnect.")
            }
        }
    }
}

/// Says when its token is revoked or expired; the handshake checked the token, this keeps
/// checking. Made once per connection: a logout wakes only the connections of the login it ends
/// (`model::Watch`), and it has no timer of its own: the connection's tick is armed to fire at
/// the token's expiry too (`http/alarms.rs`), one timer per connection for both.
pub struct Revocation {
    /// None once it has said the token ended: from then on it says nothing.
    watch: Option<Watch>,
}

impl Revocation {
    /// When the token expires (None once it has said the token ended).
    pub fn expires(&self) -> Option<tokio::time::Instant> {
        self.watch.as_ref().map(Watch::expires)
    }

    /// Ready once the token's login was logged out (this waits for it) or the token has expired
    /// (this only checks: the caller's timer must wake the task at [`Revocation::expires`]);
    /// once it has said so it stays pending.
    pub fn poll_ended(&mut self, cx: &mut Context<'_>) -> Poll<Ended> {
        let Some(watch) = &self.watch else { return Poll::Pending };
        let ended = if watch.poll_revoked(cx).is_ready() {
            Ended::LoggedOut
        } else if tokio::time::Instant::now() >= watch.expires() {
            Ended::Expired
        } else {
            return Poll::Pending;
        };
        self.watch = None;
        Poll::Ready(ended)
    }

    /// The error a connection sends when its login was logged out.
    pub fn error() -> AppError {
        AppError::new(ErrorCode::LoggedOut, "You have logged out; sign in again.")
    }
}

fn load_or_create_secret(dir: &Path) -> std::io::Result<Vec<u8>> {
    let path = dir.join("jwt-secret");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let text = text.trim();
        if text.len() >= 32 {
            return Ok(text.as_bytes().to_vec());
        }
    }
    std::fs::create_dir_all(dir)?;
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(std::io::Error::other)?;
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    write_private(&path, &hex)?;
    tracing::info!(path = %path.display(), "generated a JWT secret");
    Ok(hex.into_bytes())
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

/// The token of a request: `Authorization: Bearer …` first, then `?token=`.
pub fn token_from(headers: &HeaderMap, query_token: Option<&str>) -> Option<String> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    bearer.or(query_token.filter(|t| !t.is_empty())).map(str::to_owned)
}

/// The cookie that carries the access token to endpoints a browser API cannot add headers to
/// (`EventSource`). Only the read-only event streams accept it, so it cannot forge a request.
pub const ACCESS_COOKIE: &str = "dt_access";

/// The access token from the `dt_access` cookie, if the request has one.
pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, ACCESS_COOKIE)
}

/// A cookie's value, if the request has it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(prefix.as_str()).map(str::to_owned))
        .filter(|t| !t.is_empty())
}

/// The error for a request without a token.
pub fn missing_token() -> AppError {
    AppError::new(ErrorCode::MissingToken, "Sign in first: no access token was sent.")
}

/// Verifies a possibly missing token: missing → 400, bad → 401.
pub fn authenticate(auth: &Auth, token: Option<String>) -> Result<Actor, AppError> {
    let token = token.ok_or_else(missing_token)?;
    auth.verify(&token)
}

/// Like [`authenticate`], for a long-lived connection: also a watch that fires on logout.
pub fn authenticate_live(auth: &Arc<Auth>, token: Option<String>) -> Result<(Actor, Revocation), AppError> {
    let token = token.ok_or_else(missing_token)?;
    let claims = auth.claims(&token)?;
    let revocation = auth.watch(&claims);
    Ok((claims.into_actor(), revocation))
}
