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
        "partial: some files are missing (on the server; on disk for verify)",
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

/// Whether trying the same request again may succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// The same request would fail the same way.
    Never,
    /// Worth another try, after the wait the server asked for if it named one.
    After(Option<Duration>),
}

/// What a failure costs: the files of its own request, or the whole run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Only the files of the request that met it (a bad archive, a request that ran out of retries).
    Own,
    /// Every further request would meet it too (the server cannot be reached at all).
    Run,
}

/// An error that carries its [`Kind`]; anyhow context may be layered on top of it.
#[derive(Debug)]
pub struct Failure {
    kind: Kind,
    message: String,
    retry: Retry,
    scope: Scope,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

fn failure(kind: Kind, message: impl Into<String>, retry: Retry, scope: Scope) -> anyhow::Error {
    anyhow::Error::new(Failure {
        kind,
        message: message.into(),
        retry,
        scope,
    })
}

/// Builds an `anyhow::Error` of the given kind, final and costing only its own files.
pub fn fail(kind: Kind, message: impl Into<String>) -> anyhow::Error {
    failure(kind, message, Retry::Never, Scope::Own)
}

/// Builds a local error from a failed disk operation: a full disk, a quota or a read-only filesystem
/// stops the whole run (every further file would meet it); anything else (a file in the way, one
/// directory without permission) costs only its own files.
pub fn local(err: &std::io::Error, message: impl Into<String>) -> anyhow::Error {
    use std::io::ErrorKind;
    let scope = match err.kind() {
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded | ErrorKind::ReadOnlyFilesystem => {
            Scope::Run
        }
        _ => Scope::Own,
    };
    failure(Kind::Other, message, Retry::Never, scope)
}

/// Builds a network error for a server that could not be reached at all (retryable or not).
pub fn unreachable(message: impl Into<String>, retryable: bool) -> anyhow::Error {
    let retry = if retryable {
        Retry::After(None)
    } else {
        Retry::Never
    };
    failure(Kind::Network, message, retry, Scope::Run)
}

/// Builds an error that may go away when tried again, after `retry_after` if the server asked for a wait.
pub fn transient(
    kind: Kind,
    message: impl Into<String>,
    retry_after: Option<Duration>,
) -> anyhow::Error {
    failure(kind, message, Retry::After(retry_after), Scope::Own)
}

fn failure_of(err: &anyhow::Error) -> Option<&Failure> {
    err.chain()
        .find_map(|cause| cause.downcast_ref::<Failure>())
}

/// Whether trying again may help, and after how long.
pub fn retry_of(err: &anyhow::Error) -> Retry {
    failure_of(err).map_or(Retry::Never, |failure| failure.retry)
}

/// The one policy for what stops a whole run: a server that cannot be reached, refused credentials, a
/// repository that is not there, bad input, or a local failure that every file would meet (a full disk;
/// see [`local`]). Anything else costs only the files of its own request.
pub fn is_fatal_for_run(err: &anyhow::Error) -> bool {
    failure_of(err).is_some_and(|failure| failure.scope == Scope::Run)
        || matches!(kind_of(err), Kind::Auth | Kind::NotFound | Kind::Usage)
}

/// Kinds from the most serious down: when a run meets several failures, its exit code is that of the
/// first kind here among them. What stops the whole run comes first; then local trouble; then bad data
/// over a failed connection, since bytes that lie are worse than bytes that did not come; a partial
/// result last.
pub const SEVERITY: [Kind; 7] = [
    Kind::Usage,
    Kind::Auth,
    Kind::NotFound,
    Kind::Other,
    Kind::Integrity,
    Kind::Network,
    Kind::Partial,
];

/// The most serious of `errors`, by [`SEVERITY`]; the earliest among equals.
pub fn most_serious(errors: Vec<anyhow::Error>) -> Option<anyhow::Error> {
    let rank = |err: &anyhow::Error| {
        let kind = kind_of(err);
        SEVERITY.iter().position(|k| *k == kind).unwrap_or(0)
    };
    let mut ranked: Vec<(usize, anyhow::Error)> =
        errors.into_iter().map(|e| (rank(&e), e)).collect();
    // A stable sort keeps the earliest first among equals.
    ranked.sort_by_key(|(rank, _)| *rank);
    ranked.into_iter().next().map(|(_, err)| err)
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
    failure_of(err).map_or(Kind::Other, |failure| failure.kind)
}

/// The exit-code table as text, for `--help` and the man page.
pub fn exit_code_help() -> String {
    let mut text = String::from("Exit status:\n  0  success\n");
    for (_, code, what) in EXIT_CODES {
        text.push_str(&format!("  {code}  {what}\n"));
    }
    text.push_str(
        "  129, 130, 143  interrupted by SIGHUP, SIGINT or SIGTERM; unfinished files removed (a large file's\n                 part is kept to resume)\n",
    );
    text.push_str(&severity_help());
    text
}

/// How a run that met several failures picks its exit code, for `--help` and the man page.
fn severity_help() -> String {
    let order: Vec<String> = SEVERITY
        .iter()
        .map(|kind| kind.exit_code().to_string())
        .collect();
    format!(
        "When several failures happen, the exit code is that of the most serious, in this order: {}.\n",
        order.join(", ")
    )
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
        assert_eq!(retry_of(&err), Retry::After(wait));
        assert_eq!(retry_of(&fail(Kind::Network, "no")), Retry::Never);
    }

    #[test]
    fn the_most_serious_failure_wins_whatever_its_place() {
        let errors = vec![
            fail(Kind::Partial, "missing"),
            fail(Kind::Integrity, "mismatch"),
            fail(Kind::Auth, "denied"),
            fail(Kind::Integrity, "second mismatch"),
        ];
        assert_eq!(kind_of(&most_serious(errors).unwrap()), Kind::Auth);
        let errors = vec![fail(Kind::Network, "x"), fail(Kind::Integrity, "y")];
        assert_eq!(most_serious(errors).unwrap().to_string(), "y");
        assert!(most_serious(Vec::new()).is_none());
        let mut kinds = SEVERITY.to_vec();
        kinds.sort_by_key(|k| k.exit_code());
        kinds.dedup();
        assert_eq!(kinds.len(), EXIT_CODES.len(), "every kind has a rank");
    }

    #[test]
    fn fatal_for_the_run() {
        assert!(is_fatal_for_run(&unreachable("down", true)));
        assert!(is_fatal_for_run(&fail(Kind::Auth, "denied")));
        assert!(!is_fatal_for_run(&fail(Kind::Integrity, "mismatch")));
        assert!(!is_fatal_for_run(&transient(Kind::Network, "busy", None)));
        let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
        assert!(is_fatal_for_run(&local(&full, "cannot write x")));
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert!(!is_fatal_for_run(&local(&denied, "cannot write y")));
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
