//! Viewer tokens: `nc1~STREAM~EXPIRES~MAC`, where EXPIRES is Unix seconds and MAC is the base64url
//! HMAC-SHA256 of `nc1~STREAM~EXPIRES` under the server's viewer secret. STREAM is a stream id or
//! `*` for every stream. Every character is URL-safe, so a token travels unescaped in `?token=`.
//! Pure: the caller passes the time; nothing here reads a clock.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Longest token accepted; anything longer is refused before any work is done on it.
pub const MAX_TOKEN_LEN: usize = 256;
/// The stream field of a token that grants every stream.
pub const ANY_STREAM: &str = "*";
const VERSION: &str = "nc1";

/// Why a token does not grant access.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// No token was presented.
    #[error("a viewer token is required")]
    Missing,
    /// The token is not of the form `nc1~STREAM~EXPIRES~MAC`.
    #[error("malformed token")]
    Malformed,
    /// The signature does not match: forged, altered or signed with another secret.
    #[error("token signature does not match")]
    BadSignature,
    /// The token expired at the given Unix time.
    #[error("token expired at {0}")]
    Expired(u64),
    /// The token is for another stream.
    #[error("token is for stream {0:?}")]
    WrongStream(String),
}

fn mac(secret: &[u8], signed: &str) -> Hmac<Sha256> {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    m.update(signed.as_bytes());
    m
}

/// A token granting `stream` (or [`ANY_STREAM`]) until Unix time `expires`.
pub fn mint(secret: &[u8], stream: &str, expires: u64) -> String {
    let signed = format!("{VERSION}~{stream}~{expires}");
    let tag = URL_SAFE_NO_PAD.encode(mac(secret, &signed).finalize().into_bytes());
    format!("{signed}~{tag}")
}

/// The parts of a well-signed token, checked only for form and signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The stream granted, or [`ANY_STREAM`].
    pub stream: String,
    /// Unix seconds after which the grant is void.
    pub expires: u64,
}

impl Grant {
    /// Whether this grant covers `stream` at Unix time `now`.
    pub fn check(&self, stream: &str, now: u64) -> Result<(), TokenError> {
        if now >= self.expires {
            return Err(TokenError::Expired(self.expires));
        }
        if self.stream != ANY_STREAM && self.stream != stream {
            return Err(TokenError::WrongStream(self.stream.clone()));
        }
        Ok(())
    }
}

/// Checks the form and the signature of `token` (in constant time) and returns what it grants.
pub fn open(secret: &[u8], token: &str) -> Result<Grant, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed);
    }
    let (signed, tag) = token.rsplit_once('~').ok_or(TokenError::Malformed)?;
    let mut parts = signed.split('~');
    let (Some(VERSION), Some(stream), Some(expires), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let expires: u64 = expires.parse().map_err(|_| TokenError::Malformed)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| TokenError::Malformed)?;
    mac(secret, signed).verify_slice(&tag).map_err(|_| TokenError::BadSignature)?;
    Ok(Grant { stream: stream.to_string(), expires })
}

/// [`open`] then [`Grant::check`]: does `token` let its bearer watch `stream` at `now`?
pub fn verify(secret: &[u8], token: &str, stream: &str, now: u64) -> Result<(), TokenError> {
    open(secret, token)?.check(stream, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"correct horse battery staple";

    #[test]
    fn a_minted_token_grants_its_stream_until_it_expires() {
        let t = mint(KEY, "cam-1", 1000);
        assert!(t.starts_with("nc1~cam-1~1000~"), "{t}");
        assert!(t.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~*".contains(&b)), "{t}");
        assert_eq!(verify(KEY, &t, "cam-1", 999), Ok(()));
        assert_eq!(verify(KEY, &t, "cam-1", 1000), Err(TokenError::Expired(1000)));
        assert_eq!(verify(KEY, &t, "cam-2", 10), Err(TokenError::WrongStream("cam-1".into())));
        let any = mint(KEY, ANY_STREAM, 50);
        assert_eq!(verify(KEY, &any, "whatever", 49), Ok(()));
    }

    #[test]
    fn altered_or_foreign_tokens_are_refused() {
        let t = mint(KEY, "cam", 1000);
        assert_eq!(verify(b"another secret", &t, "cam", 0), Err(TokenError::BadSignature));
        // Changing the stream or the expiry breaks the signature.
        let forged = t.replacen("cam", "all", 1);
        assert_eq!(verify(KEY, &forged, "all", 0), Err(TokenError::BadSignature));
        let later = t.replacen("1000", "9999", 1);
        assert_eq!(verify(KEY, &later, "cam", 0), Err(TokenError::BadSignature));
        // Every single-character change is refused.
        for i in 0..t.len() {
            let mut b = t.clone().into_bytes();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            let s = String::from_utf8(b).expect("ascii");
            assert!(verify(KEY, &s, "cam", 0).is_err(), "{s}");
        }
    }

    #[test]
    fn malformed_tokens_are_refused_without_panicking() {
        let long = "x".repeat(MAX_TOKEN_LEN + 1);
        for bad in [
            "",
            "~",
            "nc1",
            "nc1~cam~1000",
            "nc2~cam~1000~AAAA",
            "nc1~cam~-1~AAAA",
            "nc1~cam~1~!!",
            "nc1~a~b~1~AA",
            &long,
        ] {
            assert!(matches!(open(KEY, bad), Err(TokenError::Malformed)), "{bad:?}");
        }
        let t = mint(KEY, "cam", 5);
        for cut in 0..t.len() {
            assert!(open(KEY, &t[..cut]).is_err());
        }
    }
}
