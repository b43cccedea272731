//! Talking to an Oxen server: the routes (`remote`), where the server is (`endpoint`), the token (`auth`),
//! TLS roots, proxies and retries. Every non-2xx answer becomes a typed error here.
//! May import only the base (`error`, `transfer`, `sync`, `hash`).

pub(crate) mod auth;
pub(crate) mod endpoint;
pub(crate) mod proxy;
pub(crate) mod remote;
pub(crate) mod retry;
pub(crate) mod tls;
