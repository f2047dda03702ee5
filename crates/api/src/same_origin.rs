//! Requests that ride on the console's session cookie must come from the
//! console itself, not from another web site the user has open.
//!
//! The cookie is `SameSite=Strict`, but that is one browser feature standing
//! alone (older browsers, same-site sub-domains and browser bugs get around
//! it). So a request that changes something (any method but GET and HEAD), or
//! opens a WebSocket, and is authenticated by the cookie must also:
//!
//! - name its origin — `Origin`, or where a browser leaves that out on a
//!   change, `Referer` — and it must be this server: the same host and port
//!   as the request's `Host` (or `X-Forwarded-Host` behind a proxy, which
//!   another site's page cannot set). The scheme is not compared, so a proxy
//!   that ends TLS in front of the server keeps working. A WebSocket must
//!   carry `Origin` (browsers always send it there).
//! - send a body only as JSON (`application/json` or `application/*+json`),
//!   which a page of another site cannot send without the browser asking this
//!   server first (a CORS preflight, which it never allows). The two import
//!   routes take CSV as well, so for them the origin check is the defence.
//!
//! Requests with `Authorization: Bearer` (API clients, scripts) are not
//! touched: a browser never adds that header to another site's request, and
//! such clients often send no `Origin` at all. Refusals are 403 with a
//! sentence saying what to do.

use axum::extract::Request;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::session_token;
use crate::ApiError;

/// Middleware: refuses a cross-site request that carries the session cookie.
pub async fn guard(request: Request, next: Next) -> Response {
    match check(request.method(), request.uri().path(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(why) => ApiError::Forbidden(why).into_response(),
    }
}

fn check(method: &Method, path: &str, headers: &HeaderMap) -> Result<(), String> {
    if !authenticated_by_cookie(headers) {
        return Ok(());
    }
    let websocket = is_websocket_upgrade(headers);
    if (method == Method::GET || method == Method::HEAD) && !websocket {
        return Ok(());
    }
    let Some(own) = own_hosts(headers) else {
        return Err("the request has no Host header, so it cannot be checked to come from this server; send Host as every HTTP/1.1 client does".into());
    };
    let claimed = header_str(headers, &header::ORIGIN).map(|o| ("Origin", o.to_owned()));
    let claimed = if websocket { claimed } else { claimed.or_else(|| header_str(headers, &header::REFERER).map(|r| ("Referer", r.to_owned()))) };
    let Some((which, claimed)) = claimed else {
        return Err(format!(
            "this {} carries the console's session cookie but no Origin{} header, so it cannot be told apart from one sent by another web site; \
             open it from the Citywatch console, or authenticate with 'Authorization: Bearer <token>' instead of the cookie",
            if websocket { "WebSocket" } else { "request" },
            if websocket { "" } else { " or Referer" }
        ));
    };
    if !own.iter().any(|host| same_authority(&claimed, host)) {
        return Err(format!(
            "this request was sent by a page of another web site ({which}: {claimed}), not by the Citywatch console at {}; \
             it was refused so that other sites cannot act with your session",
            own[0]
        ));
    }
    if websocket || !has_body(headers) || takes_csv(path) {
        return Ok(());
    }
    let content_type = header_str(headers, &header::CONTENT_TYPE).unwrap_or("");
    if !is_json(content_type) {
        let sent = if content_type.is_empty() { "no Content-Type".to_owned() } else { format!("Content-Type {content_type:?}") };
        return Err(format!(
            "this request carries the console's session cookie and a body with {sent}; send the body as JSON with 'Content-Type: application/json'"
        ));
    }
    Ok(())
}

/// The cookie authenticates only when there is no `Authorization` header
/// (see `auth::session_token`, which prefers the header).
fn authenticated_by_cookie(headers: &HeaderMap) -> bool {
    !headers.contains_key(header::AUTHORIZATION) && session_token(headers).is_some()
}

fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    header_str(headers, &header::UPGRADE).is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &header::HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// The names this server is reached by, as the client and a proxy in front say.
fn own_hosts(headers: &HeaderMap) -> Option<Vec<&str>> {
    let mut hosts: Vec<&str> = header_str(headers, &header::HOST).into_iter().collect();
    if let Some(forwarded) = headers.get("x-forwarded-host").and_then(|v| v.to_str().ok()) {
        hosts.extend(forwarded.split(',').next().map(str::trim).filter(|h| !h.is_empty()));
    }
    (!hosts.is_empty()).then_some(hosts)
}

/// Whether `url` (an origin like `https://a.example:8443`, or a Referer URL)
/// names `host` (`a.example:8443`), ignoring case, the scheme, and a default
/// port written out on one side only.
fn same_authority(url: &str, host: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else { return false };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return false;
    }
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" | "wss" => ":443",
        _ => ":80",
    };
    let normal = |a: &str| {
        let a = a.to_ascii_lowercase();
        match a.strip_suffix(default_port) {
            Some(bare) => bare.to_owned(),
            None => a,
        }
    };
    normal(authority) == normal(host)
}

fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING) || header_str(headers, &header::CONTENT_LENGTH).is_some_and(|n| n.parse::<u64>().map_or(true, |n| n > 0))
}

/// Camera and hotlist imports take CSV (`text/csv`) as well as JSON.
fn takes_csv(path: &str) -> bool {
    path == "/api/v1/cameras/import" || (path.starts_with("/api/v1/hotlists/") && path.ends_with("/import"))
}

/// `application/json` or a JSON-based type such as `application/geo+json`,
/// parameters (`; charset=utf-8`) allowed.
fn is_json(content_type: &str) -> bool {
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_their_host_whatever_the_scheme_and_default_port() {
        assert!(same_authority("http://127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(same_authority("https://CW.example", "cw.example"));
        assert!(same_authority("https://cw.example", "cw.example:443"));
        assert!(same_authority("http://cw.example:80", "cw.example"));
        assert!(same_authority("http://cw.example:8080/console?x=1", "cw.example:8080"));
        assert!(!same_authority("http://cw.example:8081", "cw.example:8080"));
        assert!(!same_authority("http://evil.example", "cw.example"));
        assert!(!same_authority("http://cw.example.evil.example", "cw.example"));
        assert!(!same_authority("http://cw.example@evil.example", "cw.example"));
        assert!(!same_authority("null", "cw.example"));
    }

    #[test]
    fn json_media_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/geo+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
        assert!(!is_json("multipart/form-data; boundary=x"));
        assert!(!is_json(""));
    }
}
