//! TLS for the PostgreSQL port: a rustls acceptor from the PEM files named in `[server]`.
//! pgwire answers a client's SSLRequest with it; without it the server answers 'N' and the
//! client decides (sslmode=require gives up, prefer goes on in plain text).

use crate::config::ServerConfig;
use crate::error::{CipError, Result};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;
use tokio_rustls::rustls::ServerConfig as RustlsConfig;
use tokio_rustls::TlsAcceptor;

/// The acceptor for `[server] tls_cert` / `tls_key`, or None when TLS is not configured.
pub fn acceptor(server: &ServerConfig) -> Result<Option<TlsAcceptor>> {
    let (cert, key) = match (&server.tls_cert, &server.tls_key) {
        (None, None) if server.tls_required => {
            return Err(CipError::Config(
                "server.tls_required needs server.tls_cert and server.tls_key".into(),
            ))
        }
        (None, None) => return Ok(None),
        (Some(c), Some(k)) => (c, k),
        _ => {
            return Err(CipError::Config(
                "server.tls_cert and server.tls_key go together: set both or neither".into(),
            ))
        }
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| {
            CipError::Config(format!(
                "server.tls_cert {}: not a PEM certificate chain ({e})",
                cert.display()
            ))
        })?;
    if chain.is_empty() {
        return Err(CipError::Config(format!(
            "server.tls_cert {}: no certificate in the file",
            cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        CipError::Config(format!(
            "server.tls_key {}: not a PEM private key ({e})",
            key.display()
        ))
    })?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = RustlsConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
        .map_err(|e| CipError::Config(format!("server.tls_cert / tls_key: {e}")))?;
    Ok(Some(TlsAcceptor::from(Arc::new(config))))
}
