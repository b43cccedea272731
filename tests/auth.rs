//! Tokens: from the flag, the environment and the official client's auth_config.toml; 401 handling.

mod support;

use std::path::Path;

use support::server::{Config, fixture_body};
use support::{Run, Sandbox, TestServer};

const TOKEN: &str = "s3cret-token-value";

fn secured() -> TestServer {
    TestServer::with(Config {
        token: Some(TOKEN.to_string()),
        ..Config::default()
    })
}

fn get_hello(sandbox: &Sandbox, server: &TestServer, extra: &[&str]) -> Run {
    let mut args = vec!["--host", server.url.as_str()];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["get", "ox/demo", "main/hello.txt", "-o", "-"]);
    sandbox.run(&args)
}

fn write_auth_config(dir: &Path, host: &str, token: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("auth_config.toml"),
        format!(
            "default_host = \"hub.oxen.ai\"\n\n[[host_configs]]\nhost = \"hub.oxen.ai\"\nauth_token = \"hub\"\n\n\
             [[host_configs]]\nhost = \"{host}\"\nauth_token = \"{token}\"\n"
        ),
    )
    .unwrap();
}

fn assert_token_not_shown(run: &Run) {
    assert!(!run.stderr.contains(TOKEN), "token leaked: {}", run.stderr);
    assert!(!String::from_utf8_lossy(&run.stdout).contains(TOKEN));
}

fn last_authorization(server: &TestServer) -> Option<String> {
    server
        .requests()
        .last()
        .unwrap()
        .header("authorization")
        .map(str::to_string)
}

#[test]
fn no_token_is_an_auth_error_with_a_hint() {
    let server = secured();
    let sandbox = Sandbox::new();
    let run = get_hello(&sandbox, &server, &[]);
    run.expect_code(4)
        .expect_stderr("Unauthorized (HTTP 401)")
        .expect_stderr("the server needs a token")
        .expect_stderr(&format!("host \"127.0.0.1:{}\"", server.port));
    assert!(run.stdout.is_empty());
    assert_eq!(last_authorization(&server), None);
}

#[test]
fn wrong_token_is_an_auth_error_without_echoing_it() {
    let server = secured();
    let sandbox = Sandbox::new();
    let run = get_hello(&sandbox, &server, &["--token", "wrong-token"]);
    run.expect_code(4)
        .expect_stderr("unauthorized (HTTP 401)")
        .expect_stderr("rejected the token");
    assert!(!run.stderr.contains("wrong-token"));
    assert_eq!(
        last_authorization(&server).as_deref(),
        Some("Bearer wrong-token")
    );
}

#[test]
fn token_from_flag() {
    let server = secured();
    let sandbox = Sandbox::new();
    let run = get_hello(&sandbox, &server, &["--token", TOKEN]);
    run.expect_code(0);
    assert_eq!(run.stdout, fixture_body("get-hello"));
    assert_eq!(last_authorization(&server), Some(format!("Bearer {TOKEN}")));
    assert_token_not_shown(&run);
}

#[test]
fn token_from_environment() {
    let server = secured();
    let sandbox = Sandbox::new();
    let mut command = sandbox.command(&[
        "--host",
        &server.url,
        "get",
        "ox/demo",
        "main/hello.txt",
        "-o",
        "-",
    ]);
    command.env("OXDL_TOKEN", TOKEN);
    let run = sandbox.run_command(command, b"");
    run.expect_code(0);
    assert_eq!(last_authorization(&server), Some(format!("Bearer {TOKEN}")));
    assert_token_not_shown(&run);
}

#[test]
fn flag_overrides_environment_and_config() {
    let server = secured();
    let sandbox = Sandbox::new();
    write_auth_config(
        &sandbox.home.path().join(".config/oxen"),
        &format!("127.0.0.1:{}", server.port),
        "cfg",
    );
    let mut command = sandbox.command(&[
        "--host",
        &server.url,
        "--token",
        TOKEN,
        "get",
        "ox/demo",
        "main/hello.txt",
        "-o",
        "-",
    ]);
    command.env("OXDL_TOKEN", "from-env");
    sandbox.run_command(command, b"").expect_code(0);
    assert_eq!(last_authorization(&server), Some(format!("Bearer {TOKEN}")));
}

#[test]
fn token_from_auth_config_in_home() {
    let server = secured();
    let sandbox = Sandbox::new();
    write_auth_config(
        &sandbox.home.path().join(".config/oxen"),
        &format!("127.0.0.1:{}", server.port),
        TOKEN,
    );
    let run = get_hello(&sandbox, &server, &[]);
    run.expect_code(0);
    assert_eq!(last_authorization(&server), Some(format!("Bearer {TOKEN}")));
    assert_token_not_shown(&run);
}

#[test]
fn token_from_config_dir_flag_and_oxen_config_dir() {
    let server = secured();
    let sandbox = Sandbox::new();
    let dir = sandbox.join("cfg");
    write_auth_config(&dir, &format!("127.0.0.1:{}", server.port), TOKEN);
    get_hello(&sandbox, &server, &["--config-dir", dir.to_str().unwrap()]).expect_code(0);
    assert_eq!(last_authorization(&server), Some(format!("Bearer {TOKEN}")));

    let mut command = sandbox.command(&[
        "--host",
        &server.url,
        "get",
        "ox/demo",
        "main/hello.txt",
        "-o",
        "-",
    ]);
    command.env("OXEN_CONFIG_DIR", &dir);
    sandbox.run_command(command, b"").expect_code(0);
    assert_eq!(last_authorization(&server), Some(format!("Bearer {TOKEN}")));
}

#[test]
fn config_entry_for_another_port_is_not_used() {
    let server = secured();
    let sandbox = Sandbox::new();
    write_auth_config(
        &sandbox.home.path().join(".config/oxen"),
        "127.0.0.1",
        TOKEN,
    );
    get_hello(&sandbox, &server, &[]).expect_code(4);
    assert_eq!(last_authorization(&server), None);
}

#[test]
fn malformed_config_is_a_clear_error_naming_the_file() {
    let server = secured();
    let sandbox = Sandbox::new();
    let dir = sandbox.home.path().join(".config/oxen");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("auth_config.toml"), "[[host_configs]\nhost = ").unwrap();
    let run = get_hello(&sandbox, &server, &[]);
    run.expect_code(2)
        .expect_stderr("malformed ")
        .expect_stderr(".config/oxen/auth_config.toml: line 1:");
    assert!(!run.stderr.contains("panicked"));
    assert!(server.requests().is_empty());
    // An explicit token does not need the file.
    get_hello(&sandbox, &server, &["--token", TOKEN]).expect_code(0);
}

#[test]
fn batch_needs_the_token_too() {
    let server = secured();
    let sandbox = Sandbox::new();
    let list = "4bc6f9c6f8941bc2e3a7ebff29145cde\n";
    sandbox
        .run_with_stdin(
            &["--host", &server.url, "batch", "ox/demo"],
            list.as_bytes(),
        )
        .expect_code(4);
    let run = sandbox.run_with_stdin(
        &["--host", &server.url, "--token", TOKEN, "batch", "ox/demo"],
        list.as_bytes(),
    );
    run.expect_code(0);
    assert_token_not_shown(&run);
    assert_eq!(last_authorization(&server), Some(format!("Bearer {TOKEN}")));
}

#[test]
fn help_does_not_show_the_token_from_the_environment() {
    let sandbox = Sandbox::new();
    let mut command = sandbox.command(&["--help"]);
    command.env("OXDL_TOKEN", TOKEN);
    let run = sandbox.run_command(command, b"");
    run.expect_code(0);
    assert!(String::from_utf8_lossy(&run.stdout).contains("OXDL_TOKEN"));
    assert_token_not_shown(&run);
}
