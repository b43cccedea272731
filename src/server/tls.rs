//! Which certificate authorities an https server may be signed by: the bundled Mozilla roots, the
//! system's roots, and any given with `--cacert` or `SSL_CERT_FILE` (for corporate CAs).

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

use crate::error::{Kind, fail};

/// The TLS settings: every root from the bundle, the system, and `extra` (a PEM file) if given.
pub fn config(extra: Option<&Path>) -> Result<TlsConfig> {
    let mut roots: Vec<Certificate<'static>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    // The system's store may be missing or partly unreadable; the bundle still applies then.
    let system = rustls_native_certs::load_native_certs();
    roots.extend(
        system
            .certs
            .iter()
            .map(|der| Certificate::from_der(der.as_ref()).to_owned()),
    );
    if let Some(path) = extra {
        roots.extend(read_pem(path)?);
    }
    Ok(TlsConfig::builder()
        .root_certs(RootCerts::Specific(Arc::new(roots)))
        .build())
}

/// The certificates in a PEM file, or an error naming the file.
fn read_pem(path: &Path) -> Result<Vec<Certificate<'static>>> {
    let text = std::fs::read(path).map_err(|err| {
        fail(
            Kind::Usage,
            format!("cannot read CA certificates from {}: {err}", path.display()),
        )
    })?;
    let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&text)
        .filter_map(|item| match item {
            Ok(PemItem::Certificate(cert)) => Some(cert.to_owned()),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(fail(
            Kind::Usage,
            format!(
                "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            ),
        ));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_certificates_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let err = config(Some(&path)).unwrap_err();
        assert!(
            format!("{err:#}").contains("holds no PEM certificate"),
            "{err:#}"
        );
        let err = config(Some(&dir.path().join("absent.pem"))).unwrap_err();
        assert!(
            format!("{err:#}").contains("cannot read CA certificates from"),
            "{err:#}"
        );
    }
}
