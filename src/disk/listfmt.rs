//! The PATH of a hash list line, written so that any file name survives: as is when it can be, else in
//! double quotes with C escapes (as `ls --quoting-style=c` and git's quoted paths write names).
//!
//! `oxdl ls` writes paths with [`quote`]; the hash list reader reads them back with [`parse_path`].

use std::borrow::Cow;
use std::fmt::Write;
use std::path::{Component, Path, PathBuf};

/// Whether `name` must be quoted to survive a list line: leading or trailing whitespace (which reading
/// trims), any control character (a line break would end the line, others garble terminals), or a
/// leading `"` (which would start a quoted path).
pub fn needs_quoting(name: &str) -> bool {
    name.starts_with(char::is_whitespace)
        || name.ends_with(char::is_whitespace)
        || name.starts_with('"')
        || name.chars().any(char::is_control)
}

/// `name` as a list line writes it: as is, or quoted with C escapes when [`needs_quoting`] says so.
pub fn quote(name: &str) -> Cow<'_, str> {
    if !needs_quoting(name) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => push_escaped(&mut out, c),
        }
    }
    out.push('"');
    Cow::Owned(out)
}

/// `text` for messages: control characters escaped as in quoted paths, everything else as is.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// Appends `c`, escaped when it is a control character: `\n`, `\t`, `\r`, else `\xHH` per UTF-8 byte
/// (so C1 controls, two bytes in UTF-8, come out as two escapes).
fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c if c.is_control() => {
            for byte in c.encode_utf8(&mut [0; 4]).bytes() {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\x{byte:02x}");
            }
        }
        c => out.push(c),
    }
}

/// Reads a list line's PATH (the text after the hash): a quoted path is unescaped, and nothing but
/// whitespace may follow its closing quote; any other text is the name itself, trimmed.
pub fn parse_path(text: &str) -> Result<String, String> {
    let text = text.trim();
    if !text.starts_with('"') {
        return Ok(text.to_string());
    }
    let (name, rest) = unquote(text)?;
    if !rest.trim().is_empty() {
        return Err(format!(
            "text after the closing quote of the path: '{}' (quote the whole path, escaping \" as \\\")",
            escape_controls(rest.trim())
        ));
    }
    Ok(name)
}

/// Reads the quoted path at the start of `text` (which starts with `"`); returns the name and the text
/// after the closing quote.
fn unquote(text: &str) -> Result<(String, &str), String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut chars = text.char_indices().skip(1);
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => {
                let name = String::from_utf8(bytes).map_err(|_| {
                    "the quoted path is not valid UTF-8 once its escapes are read".to_string()
                })?;
                return Ok((name, &text[at + 1..]));
            }
            '\\' => {
                let Some((_, kind)) = chars.next() else { break };
                let simple = match kind {
                    'n' => Some(b'\n'),
                    't' => Some(b'\t'),
                    'r' => Some(b'\r'),
                    'a' => Some(0x07),
                    'b' => Some(0x08),
                    'f' => Some(0x0c),
                    'v' => Some(0x0b),
                    '"' | '\\' | '\'' | '?' => Some(kind as u8),
                    _ => None,
                };
                if let Some(byte) = simple {
                    bytes.push(byte);
                    continue;
                }
                let (digits, radix, what) = match kind {
                    'x' => (2, 16, "'\\x' needs two hex digits"),
                    '0'..='7' => (2, 8, "'\\NNN' needs three octal digits"),
                    other => {
                        return Err(format!(
                            "unknown escape '\\{}' in the quoted path (write a backslash as \\\\)",
                            escape_controls(other.encode_utf8(&mut [0; 4]))
                        ));
                    }
                };
                let mut value = if kind == 'x' {
                    0
                } else {
                    kind.to_digit(8).unwrap_or(0)
                };
                for _ in 0..digits {
                    let digit = chars.next().and_then(|(_, d)| d.to_digit(radix));
                    value = value * radix + digit.ok_or_else(|| what.to_string())?;
                }
                let byte = u8::try_from(value)
                    .map_err(|_| format!("'\\{value:o}' is above \\377, the largest byte"))?;
                bytes.push(byte);
            }
            c => bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    Err("the quoted path has no closing quote".to_string())
}

/// Checks that `path` names a file inside the output directory and returns it without `.` parts.
pub fn relative_destination(path: &str) -> Result<PathBuf, String> {
    clean_destination(path.to_string()).map(PathBuf::from)
}

/// Checks that `path` names a file inside the output directory and returns it without `.` parts or
/// doubled slashes; a path that has none is returned as it is, without copying.
pub(crate) fn clean_destination(path: String) -> Result<String, String> {
    if path.contains('\0') {
        return Err(format!(
            "path '{}' contains a NUL byte",
            path.escape_debug()
        ));
    }
    let shown = || escape_controls(&path).into_owned();
    // `dir/` would otherwise quietly become a file named `dir`.
    if path.ends_with('/') {
        let shown = shown();
        return Err(format!(
            "path '{shown}' ends with '/', so it names a directory: give the file's name"
        ));
    }
    let plain = !path.starts_with('/')
        && path
            .as_bytes()
            .split(|&byte| byte == b'/')
            .all(|part| !part.is_empty() && part != b"." && part != b"..");
    if plain {
        return Ok(path);
    }
    let mut parts = Vec::new();
    for component in Path::new(&path).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy()),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "path '{}' must stay inside the output directory (no absolute paths or '..')",
                    shown()
                ));
            }
        }
    }
    if parts.is_empty() {
        return Err(format!("path '{}' does not name a file", shown()));
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_stay_as_they_are() {
        for name in [
            "a.txt",
            "dir/with space.txt",
            "back\\slash.txt",
            "mid\"quote",
            "é.txt",
            "#hash",
        ] {
            assert_eq!(quote(name), name);
            assert_eq!(parse_path(name).unwrap(), name);
        }
    }

    #[test]
    fn names_that_need_it_are_quoted() {
        let cases = [
            (" lead.txt", "\" lead.txt\""),
            ("trail.txt ", "\"trail.txt \""),
            ("line\nbreak.txt", "\"line\\nbreak.txt\""),
            ("esc\u{1b}.txt", "\"esc\\x1b.txt\""),
            ("tab\there.txt", "\"tab\\there.txt\""),
            ("\"quoted\".txt", "\"\\\"quoted\\\".txt\""),
            ("cr\r\\x", "\"cr\\r\\\\x\""),
            ("c1\u{85}del\u{7f}", "\"c1\\xc2\\x85del\\x7f\""),
        ];
        for (name, quoted) in cases {
            assert_eq!(quote(name), quoted);
            assert_eq!(parse_path(quoted).unwrap(), name);
        }
    }

    #[test]
    fn reads_the_other_c_escapes_and_octal() {
        assert_eq!(
            parse_path(r#""\a\b\f\v\'\?""#).unwrap(),
            "\u{7}\u{8}\u{c}\u{b}'?"
        );
        // git writes non-ASCII bytes in octal: é is \303\251.
        assert_eq!(parse_path(r#""\303\251.txt""#).unwrap(), "é.txt");
        assert_eq!(parse_path(r#""\xC3\xA9""#).unwrap(), "é");
        assert_eq!(parse_path("  \"a b\"  \r").unwrap(), "a b");
    }

    #[test]
    fn malformed_quoted_paths_are_refused() {
        let cases = [
            (r#""open"#, "no closing quote"),
            (r#""ends in \"#, "no closing quote"),
            (r#""a"b"#, "text after the closing quote of the path: 'b'"),
            (r#""a" "b""#, "text after the closing quote"),
            (r#""a\qb""#, "unknown escape '\\q'"),
            (r#""a\x4""#, "'\\x' needs two hex digits"),
            (r#""a\xg0""#, "'\\x' needs two hex digits"),
            (r#""a\12""#, "'\\NNN' needs three octal digits"),
            (r#""a\400""#, "'\\400' is above \\377"),
            (r#""\xff.txt""#, "not valid UTF-8"),
        ];
        for (text, expected) in cases {
            let err = parse_path(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn messages_show_controls_escaped() {
        assert_eq!(escape_controls("a\u{1b}[2Jb\n"), "a\\x1b[2Jb\\n");
        assert_eq!(escape_controls(" plain\\ "), " plain\\ ");
    }
}
