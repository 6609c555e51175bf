//! TLS for the server as Milvus offers it (`common.security.tlsMode`): 1, one-way (the server proves itself with
//! its certificate), and 2, mutual (a client must also present a certificate signed by the given CA). Both the
//! gRPC protocol and REST are served over it on the one port, as HTTP/2 or HTTP/1.1 chosen by ALPN.

use std::path::PathBuf;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{crypto, RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::error::{RbacError, Result};

/// The files of a TLS server, by Milvus's names for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server's certificate chain (PEM), `tls.serverPemPath`.
    pub server_pem: PathBuf,
    /// The server's private key (PEM), `tls.serverKeyPath`.
    pub server_key: PathBuf,
    /// With it, TLS is mutual: the CA (PEM) that must have signed every client's certificate, `tls.caPemPath`.
    pub client_ca_pem: Option<PathBuf>,
}

/// What the server accepts connections with, once its files are read and checked.
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor> {
    let fail = |what: &str, path: &PathBuf, err: &dyn std::fmt::Display| RbacError::Param {
        message: format!("cannot use {what} {}: {err}", path.display()),
    };
    let certificates = CertificateDer::pem_file_iter(&files.server_pem)
        .and_then(|all| all.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|err| fail("the server certificate", &files.server_pem, &err))?;
    if certificates.is_empty() {
        return Err(fail(
            "the server certificate",
            &files.server_pem,
            &"it holds no PEM certificate",
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&files.server_key)
        .map_err(|err| fail("the server key", &files.server_key, &err))?;
    let provider = Arc::new(crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|err| fail("TLS with", &files.server_pem, &err))?;
    let builder = match &files.client_ca_pem {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = RootCertStore::empty();
            let authorities = CertificateDer::pem_file_iter(path)
                .and_then(|all| all.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(|err| fail("the client CA", path, &err))?;
            for authority in authorities {
                roots
                    .add(authority)
                    .map_err(|err| fail("the client CA", path, &err))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|err| fail("the client CA", path, &err))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(certificates, key)
        .map_err(|err| fail("the server key", &files.server_key, &err))?;
    // gRPC needs HTTP/2; curl and REST clients may ask for HTTP/1.1.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
