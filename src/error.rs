//! The kinds of failure oxdl reports and the exit code of each, in one table.

use std::fmt;
use std::time::Duration;

/// What went wrong, as far as a calling script needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Anything not listed below, e.g. a local disk error.
    Other,
    /// Bad arguments, a malformed hash list or a malformed configuration file.
    Usage,
    /// The repository, revision or path does not exist.
    NotFound,
    /// The server refused the credentials (HTTP 401 or 403).
    Auth,
    /// A batch finished, but the server was missing some of the requested files.
    Partial,
    /// Bytes that do not match their hash, a truncated stream, or an archive that breaks the protocol.
    Integrity,
    /// The server could not be reached or failed (timeouts, 5xx, unexpected answers).
    Network,
}

/// Every kind with its exit code and a short description, for the README and the man page.
pub const EXIT_CODES: [(Kind, u8, &str); 7] = [
    (
        Kind::Other,
        1,
        "other error (e.g. a local file could not be written)",
    ),
    (
        Kind::Usage,
        2,
        "usage: bad arguments, malformed hash list or config file",
    ),
    (Kind::NotFound, 3, "repository, revision or path not found"),
    (Kind::Auth, 4, "authentication failed (HTTP 401/403)"),
    (
        Kind::Partial,
        5,
        "partial batch: some hashes are missing on the server",
    ),
    (
        Kind::Integrity,
        6,
        "integrity: hash mismatch, truncated or malformed stream",
    ),
    (Kind::Network, 7, "network or server failure"),
];

impl Kind {
    /// The process exit code for this kind.
    pub fn exit_code(self) -> u8 {
        EXIT_CODES
            .iter()
            .find(|(kind, _, _)| *kind == self)
            .map_or(1, |(_, code, _)| *code)
    }
}

/// An error that carries its [`Kind`]; anyhow context may be layered on top of it.
#[derive(Debug)]
pub struct Failure {
    kind: Kind,
    message: String,
    /// `Some` when trying again may succeed, with the server's requested wait if it named one.
    transient: Option<Option<Duration>>,
    /// The server itself could not be reached: every other request would fail the same way.
    server_wide: bool,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Builds an `anyhow::Error` of the given kind.
pub fn fail(kind: Kind, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Failure {
        kind,
        message: message.into(),
        transient: None,
        server_wide: false,
    })
}

/// Builds a network error for a server that could not be reached at all (retryable or not).
pub fn unreachable(message: impl Into<String>, retryable: bool) -> anyhow::Error {
    anyhow::Error::new(Failure {
        kind: Kind::Network,
        message: message.into(),
        transient: retryable.then_some(None),
        server_wide: true,
    })
}

/// Whether the error means the server could not be reached at all.
pub fn is_server_wide(err: &anyhow::Error) -> bool {
    err.chain()
        .find_map(|cause| cause.downcast_ref::<Failure>())
        .is_some_and(|failure| failure.server_wide)
}

/// Builds an error that may go away when tried again, after `retry_after` if the server asked for a wait.
pub fn transient(
    kind: Kind,
    message: impl Into<String>,
    retry_after: Option<Duration>,
) -> anyhow::Error {
    anyhow::Error::new(Failure {
        kind,
        message: message.into(),
        transient: Some(retry_after),
        server_wide: false,
    })
}

/// `Some(wait requested by the server)` when the error is worth retrying, `None` when it is final.
pub fn retry_hint(err: &anyhow::Error) -> Option<Option<Duration>> {
    err.chain()
        .find_map(|cause| cause.downcast_ref::<Failure>())
        .and_then(|failure| failure.transient)
}

/// Extension for tagging any error with a kind while adding context.
pub trait KindContext<T> {
    /// Wraps the error in a [`Failure`] of `kind` whose message is `context: cause`.
    fn kind_context(self, kind: Kind, context: impl fmt::Display) -> anyhow::Result<T>;
}

impl<T, E: fmt::Display> KindContext<T> for Result<T, E> {
    fn kind_context(self, kind: Kind, context: impl fmt::Display) -> anyhow::Result<T> {
        self.map_err(|err| fail(kind, format!("{context}: {err}")))
    }
}

/// The reader of oxdl's output went away (a closed pipe): the run ends quietly, as it was asked to.
#[derive(Debug)]
pub struct OutputClosed;

impl fmt::Display for OutputClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the output was closed by its reader")
    }
}

impl std::error::Error for OutputClosed {}

/// Whether the run ended because its output pipe was closed.
pub fn is_output_closed(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| cause.is::<OutputClosed>())
}

/// The kind of the first [`Failure`] in the error's chain; `Other` when there is none.
pub fn kind_of(err: &anyhow::Error) -> Kind {
    err.chain()
        .find_map(|cause| cause.downcast_ref::<Failure>())
        .map_or(Kind::Other, |failure| failure.kind)
}

/// The exit-code table as text, for `--help` and the man page.
pub fn exit_code_help() -> String {
    let mut text = String::from("Exit status:\n  0  success\n");
    for (_, code, what) in EXIT_CODES {
        text.push_str(&format!("  {code}  {what}\n"));
    }
    text.push_str(
        "  129, 130, 143  interrupted by SIGHUP, SIGINT or SIGTERM; unfinished files removed\n",
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn kind_survives_context() {
        let err = Err::<(), _>(fail(Kind::Auth, "denied"))
            .context("downloading x")
            .unwrap_err();
        assert_eq!(kind_of(&err), Kind::Auth);
        assert_eq!(format!("{err:#}"), "downloading x: denied");
    }

    #[test]
    fn transient_errors_carry_their_wait() {
        let wait = Some(Duration::from_secs(3));
        let err = Err::<(), _>(transient(Kind::Network, "busy", wait))
            .context("x")
            .unwrap_err();
        assert_eq!(retry_hint(&err), Some(wait));
        assert_eq!(retry_hint(&fail(Kind::Network, "no")), None);
    }

    #[test]
    fn codes_are_distinct() {
        let mut codes: Vec<u8> = EXIT_CODES.iter().map(|(_, c, _)| *c).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), EXIT_CODES.len());
        assert!(!codes.contains(&0));
    }
}
