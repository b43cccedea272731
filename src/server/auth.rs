//! Which token to send: `--token` / `OXDL_TOKEN`, else the official client's `auth_config.toml`.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Deserialize;

use crate::error::{Kind, fail};

/// The file the official `oxen` client keeps its tokens in.
pub const AUTH_FILE: &str = "auth_config.toml";

#[derive(Deserialize)]
struct AuthConfig {
    #[serde(default)]
    host_configs: Vec<HostConfig>,
}

#[derive(Deserialize)]
struct HostConfig {
    host: String,
    #[serde(default)]
    auth_token: Option<String>,
}

/// The config directory: the given one, else `~/.config/oxen` (the official client uses it on every OS).
pub fn config_dir(explicit: Option<&Path>) -> Option<PathBuf> {
    explicit
        .map(Path::to_path_buf)
        .or_else(|| dirs::home_dir().map(|home| home.join(".config").join("oxen")))
}

/// The token found, and why the config file could not be consulted, if it could not.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Resolved {
    pub token: Option<String>,
    /// `cannot read PATH: REASON` when `auth_config.toml` exists (or may exist) but cannot be read.
    pub unreadable: Option<String>,
}

/// The token to use for `host_key`: the explicit one if non-empty, else the config file's entry, else none.
///
/// A config file that cannot be read (no permission, a directory that cannot be searched, not a file) is
/// no error: the official client's file is optional to oxdl, and a run as another user (`sudo -u`, with
/// `HOME` still pointing at the first user's home) must still reach a public repository. The caller
/// warns. Only a file that was read and is malformed is an error.
pub fn resolve(explicit: Option<&str>, dir: Option<&Path>, host_key: &str) -> Result<Resolved> {
    if let Some(token) = explicit.map(str::trim).filter(|t| !t.is_empty()) {
        return Ok(Resolved {
            token: Some(token.to_string()),
            unreadable: None,
        });
    }
    let Some(dir) = dir else {
        return Ok(Resolved::default());
    };
    let path = dir.join(AUTH_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Resolved::default()),
        Err(err) => {
            return Ok(Resolved {
                token: None,
                unreadable: Some(format!("cannot read {}: {err}", path.display())),
            });
        }
    };
    let text = String::from_utf8(bytes).map_err(|_| {
        fail(
            Kind::Usage,
            format!(
                "malformed {}: not UTF-8 text; fix the file, or pass --token",
                path.display()
            ),
        )
    })?;
    let config: AuthConfig = toml::from_str(&text).map_err(|err| malformed(&path, &text, &err))?;
    let token = config
        .host_configs
        .into_iter()
        .find(|entry| entry.host.trim().eq_ignore_ascii_case(host_key))
        .and_then(|entry| entry.auth_token)
        .map(|token| token.trim().to_string())
        .filter(|token| !token.is_empty());
    Ok(Resolved {
        token,
        unreadable: None,
    })
}

/// A one-line error naming the file and the line at fault.
fn malformed(path: &Path, text: &str, err: &toml::de::Error) -> anyhow::Error {
    let line = err
        .span()
        .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
    let place = line.map(|n| format!(" line {n}:")).unwrap_or_default();
    fail(
        Kind::Usage,
        format!(
            "malformed {}:{place} {}; fix the file, or pass --token",
            path.display(),
            err.message().trim()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_config(text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(AUTH_FILE), text).unwrap();
        dir
    }

    const CONFIG: &str = "default_host = \"hub.oxen.ai\"\n\n[[host_configs]]\nhost = \"hub.oxen.ai\"\n\
                          auth_token = \"hub-token\"\n\n[[host_configs]]\nhost = \"localhost:3000\"\n\
                          auth_token = \"local-token\"\n";

    #[test]
    fn explicit_wins() {
        let dir = write_config(CONFIG);
        let token = resolve(Some("flag"), Some(dir.path()), "hub.oxen.ai").unwrap();
        assert_eq!(token.token.as_deref(), Some("flag"));
    }

    #[test]
    fn matched_by_host_and_port() {
        let dir = write_config(CONFIG);
        let get = |key| resolve(None, Some(dir.path()), key).unwrap().token;
        assert_eq!(get("hub.oxen.ai").as_deref(), Some("hub-token"));
        assert_eq!(get("localhost:3000").as_deref(), Some("local-token"));
        assert_eq!(get("localhost"), None);
        assert_eq!(get("localhost:3001"), None);
    }

    #[test]
    fn missing_file_is_no_token() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            resolve(None, Some(dir.path()), "x").unwrap(),
            Resolved::default()
        );
    }

    #[test]
    fn an_unreadable_file_is_no_token_and_says_why() {
        // A config "file" that is a directory cannot be read, whoever runs the test (root included).
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(AUTH_FILE)).unwrap();
        let resolved = resolve(None, Some(dir.path()), "x").unwrap();
        assert_eq!(resolved.token, None);
        let why = resolved.unreadable.unwrap();
        assert!(
            why.starts_with("cannot read ") && why.contains(AUTH_FILE),
            "{why}"
        );
        // Nor can one below a regular file.
        let file = dir.path().join("plain");
        std::fs::write(&file, "").unwrap();
        let resolved = resolve(None, Some(&file), "x").unwrap();
        assert!(resolved.unreadable.is_some());
        // An explicit token does not look at the file at all.
        let explicit = resolve(Some("t"), Some(&file), "x").unwrap();
        assert_eq!(explicit.unreadable, None);
    }

    #[test]
    fn a_file_that_is_not_text_is_malformed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(AUTH_FILE), b"host = \"\xff\"\n").unwrap();
        let err = resolve(None, Some(dir.path()), "x").unwrap_err();
        assert!(format!("{err:#}").contains("not UTF-8"), "{err:#}");
        assert_eq!(crate::error::kind_of(&err), Kind::Usage);
    }

    #[test]
    fn malformed_file_names_file_and_line() {
        let dir = write_config("[[host_configs]]\nhost = \"a\"\nauth_token = \n");
        let err = resolve(None, Some(dir.path()), "a").unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains(AUTH_FILE) && text.contains("line 3"),
            "{text}"
        );
        assert_eq!(crate::error::kind_of(&err), Kind::Usage);
    }
}
