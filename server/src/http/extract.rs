//! Extractors whose rejections are `{code, message}` errors instead of axum's plain text.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use dungeontalk_app::wire::ErrorCode;
use serde::de::DeserializeOwned;

use crate::error::AppError;

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
