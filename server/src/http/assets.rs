//! The embedded frontend, served from memory: content types, ETags, long caching for hashed files.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use dungeontalk_app::wire::ErrorCode;

use crate::error::AppError;

/// One embedded file.
pub struct Asset {
    pub path: &'static str,
    pub bytes: &'static [u8],
    /// The same file gzipped at build time (release builds, compressible files).
    pub gzip: Option<&'static [u8]>,
    pub etag: &'static str,
    pub gzip_etag: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>DungeonTalk</title>\
<p>This dungeontalk binary was built without its frontend. Build it with <code>bash .ci/setup run</code>.";

fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" | "webmanifest" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Trunk names built files `name-<hash>.ext`: their content never changes under that name.
fn is_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.split('.').next().unwrap_or("").trim_end_matches("_bg");
    stem.rsplit_once('-').is_some_and(|(_, h)| h.len() >= 16 && h.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The bytes and ETag to send for an `Accept-Encoding`, and whether they are the gzip variant.
fn representation(asset: &'static Asset, accept: Option<&str>) -> (&'static [u8], &'static str, bool) {
    let wants_gzip = accept.is_some_and(|v| {
        v.split(',').any(|e| {
            let mut parts = e.split(';').map(str::trim);
            parts.next() == Some("gzip") && !parts.any(|p| p.replace(' ', "") == "q=0")
        })
    });
    match asset.gzip {
        Some(gz) if wants_gzip => (gz, asset.gzip_etag, true),
        _ => (asset.bytes, asset.etag, false),
    }
}

/// Serves a file; unknown paths without an extension get `index.html` (client-side routes).
pub async fn serve(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return AppError::new(ErrorCode::NotFound, "No such endpoint.").into_response();
    }
    let path = uri.path();
    let asset = match find(path) {
        Some(a) => a,
        None if path.rsplit('/').next().is_some_and(|last| last.contains('.')) => {
            return (StatusCode::NOT_FOUND, "not found").into_response();
        }
        None => match find("/index.html") {
            Some(a) => a,
            None => return ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], NOT_BUILT).into_response(),
        },
    };
    let cache = if is_hashed(asset.path) { "public, max-age=31536000, immutable" } else { "no-cache" };
    let accept = headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok());
    let (body, etag, gzipped) = representation(asset, accept);
    let mut out = HeaderMap::new();
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(asset.path)));
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    out.insert(header::ETAG, HeaderValue::from_static(etag));
    if asset.gzip.is_some() {
        out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if gzipped {
            out.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
    }
    let fresh = headers.get(header::IF_NONE_MATCH).is_some_and(|v| v.as_bytes() == etag.as_bytes());
    if fresh {
        return (StatusCode::NOT_MODIFIED, out).into_response();
    }
    (out, body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_are_recognised() {
        assert!(is_hashed("/frontend-3f1b2c4d5e6f7a8b_bg.wasm"));
        assert!(is_hashed("/frontend-3f1b2c4d5e6f7a8b.js"));
        assert!(!is_hashed("/index.html"));
        assert!(!is_hashed("/favicon.svg"));
        assert_eq!(content_type("/x.wasm"), "application/wasm");
    }

    #[test]
    fn gzip_is_sent_only_to_clients_that_accept_it() {
        static A: Asset =
            Asset { path: "/a.js", bytes: b"plain", gzip: Some(b"gz"), etag: "\"1\"", gzip_etag: "\"1-gz\"" };
        assert_eq!(representation(&A, Some("gzip, deflate, br")), (&b"gz"[..], "\"1-gz\"", true));
        assert_eq!(representation(&A, Some("br")), (&b"plain"[..], "\"1\"", false));
        assert_eq!(representation(&A, Some("gzip;q=0")), (&b"plain"[..], "\"1\"", false));
        assert_eq!(representation(&A, None), (&b"plain"[..], "\"1\"", false));
        static B: Asset = Asset { path: "/a.png", bytes: b"png", gzip: None, etag: "\"2\"", gzip_etag: "\"2-gz\"" };
        assert_eq!(representation(&B, Some("gzip")), (&b"png"[..], "\"2\"", false));
    }
}
