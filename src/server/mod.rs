//! Talking to an Oxen server: the routes (`remote`) and what they answer (`answers`), where the server
//! is (`endpoint`), the token (`auth`), TLS roots, proxies and retries. Every non-2xx answer becomes a
//! typed error here (`refusal`).
//! May import only the base (`error`, `transfer`, `sync`, `hash`).

pub(crate) mod answers;
pub(crate) mod auth;
pub(crate) mod endpoint;
pub(crate) mod proxy;
mod refusal;
pub(crate) mod remote;
pub(crate) mod retry;
pub(crate) mod tls;
