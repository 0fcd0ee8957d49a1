//! Who may do what: viewer tokens per stream ([`token`]), the admin token for management endpoints,
//! and the browser-origin allow-list. The decisions here are pure (headers, query and time in,
//! a verdict out); [`gate`] applies them to requests.

pub mod gate;
pub mod token;

use std::path::{Path, PathBuf};

/// `[access]` in the configuration file. Everything is off by default: without a viewer secret
/// anyone may watch, without an admin token management endpoints are open, and without an origin
/// list pages from any origin may embed the player.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessConfig {
    /// HMAC key for viewer tokens; when set (here or in `viewer_secret_file`) every viewer must
    /// present a token for the stream it opens.
    pub viewer_secret: Option<String>,
    /// A file holding the viewer secret (surrounding whitespace ignored).
    pub viewer_secret_file: Option<PathBuf>,
    /// Bearer token for `/metrics` and `/api/tokens`.
    pub admin_token: Option<String>,
    /// A file holding the admin token.
    pub admin_token_file: Option<PathBuf>,
    /// Browser origins (`https://example.com`) allowed to open streams besides the server's own
    /// pages; empty allows any origin.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Longest lifetime, in seconds, of a token minted by `POST /api/tokens`.
    #[serde(default = "default_max_ttl")]
    pub max_token_ttl: u64,
}

fn default_max_ttl() -> u64 {
    24 * 3600
}

/// Why access settings are unusable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    /// A secret file could not be read.
    #[error("{path}: {error}")]
    Read {
        /// The file.
        path: String,
        /// What happened.
        error: std::io::Error,
    },
    /// A value is unusable.
    #[error("[access] {0}")]
    Invalid(String),
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Denied {
    /// The viewer token is missing or does not grant this stream now.
    #[error(transparent)]
    Token(#[from] token::TokenError),
    /// Management endpoints need the admin token.
    #[error("the admin token is required")]
    NotAdmin,
    /// The page's origin is not on the allow-list.
    #[error("origin {0:?} is not allowed")]
    Origin(String),
}

/// The access policy the server runs with.
#[derive(Debug, Clone, Default)]
pub struct Access {
    viewer_secret: Option<Vec<u8>>,
    admin_token: Option<String>,
    allowed_origins: Vec<String>,
    /// Longest lifetime of a minted token, seconds.
    pub max_token_ttl: u64,
}

fn secret(
    inline: &Option<String>,
    file: &Option<PathBuf>,
    what: &str,
) -> Result<Option<String>, AccessError> {
    let value = match (inline, file) {
        (Some(_), Some(_)) => {
            return Err(AccessError::Invalid(format!("give {what} or {what}_file, not both")));
        }
        (Some(v), None) => v.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map_err(|error| AccessError::Read { path: path.display().to_string(), error })?
            .trim()
            .to_string(),
        (None, None) => return Ok(None),
    };
    if value.len() < 16 {
        return Err(AccessError::Invalid(format!("{what} must be at least 16 characters")));
    }
    Ok(Some(value))
}

impl Access {
    /// Builds the policy, reading secret files.
    pub fn from_config(c: &AccessConfig) -> Result<Access, AccessError> {
        for o in &c.allowed_origins {
            if normalize_origin(o).is_none() {
                return Err(AccessError::Invalid(format!("allowed origin {o:?}: want scheme://host[:port]")));
            }
        }
        Ok(Access {
            viewer_secret: secret(&c.viewer_secret, &c.viewer_secret_file, "viewer_secret")?
                .map(String::into_bytes),
            admin_token: secret(&c.admin_token, &c.admin_token_file, "admin_token")?,
            allowed_origins: c.allowed_origins.iter().filter_map(|o| normalize_origin(o)).collect(),
            max_token_ttl: c.max_token_ttl,
        })
    }

    /// Whether viewers need tokens.
    pub fn tokens_required(&self) -> bool {
        self.viewer_secret.is_some()
    }

    /// The viewer secret, when tokens are on.
    pub fn viewer_secret(&self) -> Option<&[u8]> {
        self.viewer_secret.as_deref()
    }

    /// May the bearer of `token` watch `stream` at Unix time `now`? An admin token may watch
    /// anything.
    pub fn viewer(&self, stream: &str, token: Option<&str>, now: u64) -> Result<(), Denied> {
        let Some(secret) = &self.viewer_secret else { return Ok(()) };
        let token = token.ok_or(token::TokenError::Missing)?;
        if self.is_admin(Some(token)) {
            return Ok(());
        }
        Ok(token::verify(secret, token, stream, now)?)
    }

    /// May the bearer of `token` use management endpoints?
    pub fn admin(&self, token: Option<&str>) -> Result<(), Denied> {
        match &self.admin_token {
            None => Ok(()),
            Some(_) if self.is_admin(token) => Ok(()),
            Some(_) => Err(Denied::NotAdmin),
        }
    }

    fn is_admin(&self, token: Option<&str>) -> bool {
        match (&self.admin_token, token) {
            (Some(a), Some(t)) => constant_time_eq(a.as_bytes(), t.as_bytes()),
            _ => false,
        }
    }

    /// May a page from `origin` (the `Origin` header, absent for non-browser clients) use a
    /// server reached as `host` (the `Host` header)? The server's own pages always may.
    pub fn origin(&self, origin: Option<&str>, host: Option<&str>) -> Result<(), Denied> {
        let Some(origin) = origin else { return Ok(()) };
        if self.allowed_origins.is_empty() {
            return Ok(());
        }
        let normalized = normalize_origin(origin);
        let same_host = match (&normalized, host) {
            (Some(o), Some(h)) => o.split_once("://").is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(h)),
            _ => false,
        };
        if same_host || normalized.as_ref().is_some_and(|o| self.allowed_origins.contains(o)) {
            Ok(())
        } else {
            Err(Denied::Origin(origin.chars().take(100).collect()))
        }
    }

    /// The allow-list, normalized, for CORS.
    pub fn allowed_origins(&self) -> &[String] {
        &self.allowed_origins
    }
}

/// `scheme://host[:port]` lower-cased with any trailing `/` removed, or `None` if it is not one.
pub fn normalize_origin(o: &str) -> Option<String> {
    let o = o.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, rest) = o.split_once("://")?;
    let ok_scheme = !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_lowercase() || b == b'+');
    let ok_rest =
        !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    (ok_scheme && ok_rest).then_some(o)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Reads a file's text for a secret (used by the `token` command line).
pub fn read_secret(path: &Path) -> Result<String, AccessError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|error| AccessError::Read { path: path.display().to_string(), error })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(origins: &[&str]) -> Access {
        Access::from_config(&AccessConfig {
            viewer_secret: Some("0123456789abcdef-viewers".into()),
            admin_token: Some("0123456789abcdef-admin".into()),
            allowed_origins: origins.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        })
        .expect("valid")
    }

    #[test]
    fn open_by_default() {
        let a = Access::from_config(&AccessConfig::default()).expect("valid");
        assert_eq!(a.viewer("x", None, 0), Ok(()));
        assert_eq!(a.admin(None), Ok(()));
        assert_eq!(a.origin(Some("https://evil.example"), Some("localhost")), Ok(()));
    }

    #[test]
    fn viewers_need_a_token_for_their_stream() {
        let a = policy(&[]);
        assert_eq!(a.viewer("cam", None, 0), Err(Denied::Token(token::TokenError::Missing)));
        let t = token::mint(b"0123456789abcdef-viewers", "cam", 100);
        assert_eq!(a.viewer("cam", Some(&t), 99), Ok(()));
        assert!(a.viewer("other", Some(&t), 99).is_err());
        assert!(a.viewer("cam", Some(&t), 100).is_err());
        assert_eq!(a.viewer("cam", Some("0123456789abcdef-admin"), 5), Ok(()));
        assert_eq!(a.admin(Some(&t)), Err(Denied::NotAdmin));
        assert_eq!(a.admin(None), Err(Denied::NotAdmin));
        assert_eq!(a.admin(Some("0123456789abcdef-admin")), Ok(()));
    }

    #[test]
    fn origins_on_the_list_or_the_same_host_pass() {
        let a = policy(&["https://Example.com/", "http://127.0.0.1:3000"]);
        assert_eq!(a.origin(Some("https://example.com"), Some("video.example.net")), Ok(()));
        assert_eq!(a.origin(Some("http://127.0.0.1:3000"), Some("127.0.0.1:8080")), Ok(()));
        assert_eq!(a.origin(Some("http://127.0.0.1:8080"), Some("127.0.0.1:8080")), Ok(()));
        assert_eq!(a.origin(None, Some("127.0.0.1:8080")), Ok(()));
        for bad in ["https://example.com.evil.net", "http://example.com", "null", "", "https://evil"] {
            assert!(a.origin(Some(bad), Some("127.0.0.1:8080")).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_settings_are_refused() {
        let short = AccessConfig { viewer_secret: Some("short".into()), ..Default::default() };
        assert!(Access::from_config(&short).is_err());
        let origin = AccessConfig { allowed_origins: vec!["example.com".into()], ..Default::default() };
        assert!(Access::from_config(&origin).is_err());
        let both = AccessConfig {
            admin_token: Some("0123456789abcdef".into()),
            admin_token_file: Some("x".into()),
            ..Default::default()
        };
        assert!(Access::from_config(&both).is_err());
    }
}
