//! Extractors whose rejections are `{code, message}` errors instead of axum's plain text, and the
//! caller of a REST endpoint.

use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use dungeontalk_app::wire::ErrorCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::auth::{Claims, authenticate, missing_token, token_from};
use crate::error::AppError;
use crate::model::Actor;
use crate::state::AppState;

/// A JSON body; a malformed one is a 400 `request.invalid` with serde's reason.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Body(v)),
            Err(e) => Err(AppError::new(ErrorCode::InvalidRequest, e.body_text())),
        }
    }
}

/// A query string; a malformed one is a 400 `request.invalid`.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| Params(q.0))
            .map_err(|e| AppError::new(ErrorCode::InvalidRequest, e.body_text()))
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// The verified claims of a REST call's Bearer token (for logout, which needs the `jti`).
pub struct CallerClaims(pub Claims);

impl FromRequestParts<AppState> for CallerClaims {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<CallerClaims, AppError> {
        let token = token_from(&parts.headers, None).ok_or_else(missing_token)?;
        state.auth.claims(&token).map(CallerClaims)
    }
}

/// The caller of a REST endpoint; the only way a handler learns who is calling.
pub struct Caller(pub Actor);

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, AppError> {
        let query = Query::<TokenQuery>::try_from_uri(&parts.uri).map(|q| q.0.token).ok().flatten();
        authenticate(&state.auth, token_from(&parts.headers, query.as_deref())).map(Caller)
    }
}
