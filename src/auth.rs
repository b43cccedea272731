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

/// The token to use for `host_key`: the explicit one if non-empty, else the config file's entry, else none.
pub fn resolve(
    explicit: Option<&str>,
    dir: Option<&Path>,
    host_key: &str,
) -> Result<Option<String>> {
    if let Some(token) = explicit.map(str::trim).filter(|t| !t.is_empty()) {
        return Ok(Some(token.to_string()));
    }
    let Some(dir) = dir else {
        return Ok(None);
    };
    let path = dir.join(AUTH_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(fail(
                Kind::Usage,
                format!("cannot read {}: {err}", path.display()),
            ));
        }
    };
    let config: AuthConfig = toml::from_str(&text).map_err(|err| malformed(&path, &text, &err))?;
    Ok(config
        .host_configs
        .into_iter()
        .find(|entry| entry.host.trim().eq_ignore_ascii_case(host_key))
        .and_then(|entry| entry.auth_token)
        .map(|token| token.trim().to_string())
        .filter(|token| !token.is_empty()))
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
        assert_eq!(token.as_deref(), Some("flag"));
    }

    #[test]
    fn matched_by_host_and_port() {
        let dir = write_config(CONFIG);
        let get = |key| resolve(None, Some(dir.path()), key).unwrap();
        assert_eq!(get("hub.oxen.ai").as_deref(), Some("hub-token"));
        assert_eq!(get("localhost:3000").as_deref(), Some("local-token"));
        assert_eq!(get("localhost"), None);
        assert_eq!(get("localhost:3001"), None);
    }

    #[test]
    fn missing_file_is_no_token() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(resolve(None, Some(dir.path()), "x").unwrap(), None);
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
