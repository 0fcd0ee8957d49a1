//! The access policy applied to requests: axum middleware for viewer routes (origin + token for
//! the stream in the path), for session control (origin) and for management routes (admin token),
//! plus `POST /api/tokens`, which mints viewer tokens for an admin.

use super::{Denied, token};
use crate::App;
use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::Arc;

/// Unix seconds now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The token a request presents: `Authorization: Bearer …` or the `token` query parameter
/// (browsers cannot set headers on WebSocket requests).
pub fn presented_token(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(v) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        if let Some(t) = v.strip_prefix("Bearer ") {
            return Some(t.trim().to_string());
        }
    }
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.chars().take(token::MAX_TOKEN_LEN + 1).collect())
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The refusal as an HTTP response: 401 with a Bearer challenge for tokens, 403 for origins.
pub fn refuse(denied: &Denied) -> Response {
    let status = match denied {
        Denied::Origin(_) => StatusCode::FORBIDDEN,
        Denied::Token(_) | Denied::NotAdmin => StatusCode::UNAUTHORIZED,
    };
    let mut response = (status, denied.to_string()).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
    }
    response
}

fn check_origin(app: &App, headers: &HeaderMap) -> Result<(), Denied> {
    app.access.origin(header_str(headers, header::ORIGIN), header_str(headers, header::HOST))
}

/// Viewer routes (`…/streams/{id}…`): the origin must be allowed and the token must grant `id`.
pub async fn viewer(
    State(app): State<Arc<App>>,
    Path(params): Path<HashMap<String, String>>,
    request: Request,
    next: Next,
) -> Response {
    let stream = params.get("id").map(String::as_str).unwrap_or_default();
    let token = presented_token(request.headers(), request.uri().query());
    let verdict = check_origin(&app, request.headers())
        .and_then(|()| app.access.viewer(stream, token.as_deref(), unix_now()));
    match verdict {
        Ok(()) => next.run(request).await,
        Err(denied) => {
            app.denied.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::info!(%stream, reason = %denied, "viewer refused");
            refuse(&denied)
        }
    }
}

/// Routes that act on an existing session: only the origin is checked (the session id is the
/// capability, handed out after the token was checked).
pub async fn origin(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    match check_origin(&app, request.headers()) {
        Ok(()) => next.run(request).await,
        Err(denied) => refuse(&denied),
    }
}

/// Management routes: the admin token is required when one is configured.
pub async fn admin(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let token = presented_token(request.headers(), request.uri().query());
    match app.access.admin(token.as_deref()) {
        Ok(()) => next.run(request).await,
        Err(denied) => refuse(&denied),
    }
}

/// `POST /api/tokens` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The stream to grant, or `*`.
    pub stream: String,
    /// Lifetime in seconds (default one hour, at most `[access] max_token_ttl`).
    #[serde(default = "default_ttl")]
    pub ttl: u64,
}

fn default_ttl() -> u64 {
    3600
}

/// `POST /api/tokens` answer.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct TokenAnswer {
    /// The token, to pass as `?token=` or `Authorization: Bearer`.
    pub token: String,
    /// The stream granted.
    pub stream: String,
    /// Unix seconds at which it expires.
    pub expires: u64,
}

/// `POST /api/tokens` (behind [`admin`]): mints a viewer token.
pub async fn mint(State(app): State<Arc<App>>, Json(req): Json<TokenRequest>) -> Response {
    let Some(secret) = app.access.viewer_secret() else {
        return (StatusCode::CONFLICT, "viewer tokens are off: set [access] viewer_secret").into_response();
    };
    if req.stream != token::ANY_STREAM && !app.streams.contains(&req.stream) {
        return (StatusCode::NOT_FOUND, format!("no stream {:?}", req.stream)).into_response();
    }
    if req.ttl == 0 || req.ttl > app.access.max_token_ttl {
        let max = app.access.max_token_ttl;
        return (StatusCode::BAD_REQUEST, format!("ttl must be 1..={max} seconds")).into_response();
    }
    let expires = unix_now().saturating_add(req.ttl);
    let token = token::mint(secret, &req.stream, expires);
    Json(TokenAnswer { token, stream: req.stream, expires }).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_from_the_header_or_the_query() {
        let mut h = HeaderMap::new();
        assert_eq!(presented_token(&h, None), None);
        assert_eq!(presented_token(&h, Some("a=1&token=nc1~x~5~AA")), Some("nc1~x~5~AA".into()));
        assert_eq!(presented_token(&h, Some("token=a%7Eb")), Some("a~b".into()));
        h.insert(header::AUTHORIZATION, "Bearer abc".parse().expect("header"));
        assert_eq!(presented_token(&h, Some("token=zzz")), Some("abc".into()));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().expect("header"));
        assert_eq!(presented_token(&h, None), None);
        let long = format!("token={}", "x".repeat(10_000));
        let t = presented_token(&HeaderMap::new(), Some(&long)).expect("present");
        assert_eq!(t.len(), token::MAX_TOKEN_LEN + 1);
    }
}
