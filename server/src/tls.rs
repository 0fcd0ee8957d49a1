//! TLS with rustls when `[tls]` names a certificate chain and a private key (PEM files); the
//! page, the API and every stream are then served over HTTPS / WSS only.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::PathBuf;
use std::sync::Arc;

pub use tokio_rustls::TlsAcceptor;

/// `[tls]` in the configuration file.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file with the certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Why TLS cannot be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file is missing or holds nothing usable.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// rustls refused the certificate or key.
    #[error("TLS: {0}")]
    Rustls(#[from] tokio_rustls::rustls::Error),
}

impl TlsConfig {
    /// Reads the certificate and key and builds the acceptor (HTTP/1.1 over TLS 1.2/1.3).
    pub fn acceptor(&self) -> Result<TlsAcceptor, TlsError> {
        let pem_error =
            |path: &PathBuf, reason: String| TlsError::Pem { path: path.display().to_string(), reason };
        let certs = CertificateDer::pem_file_iter(&self.cert)
            .map_err(|e| pem_error(&self.cert, e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pem_error(&self.cert, e.to_string()))?;
        if certs.is_empty() {
            return Err(pem_error(&self.cert, "no certificate in the file".into()));
        }
        let key = PrivateKeyDer::from_pem_file(&self.key).map_err(|e| pem_error(&self.key, e.to_string()))?;
        let mut config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}
