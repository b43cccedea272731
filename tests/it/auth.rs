//! Tokens: from the flag, the environment and the official client's auth_config.toml; 401 handling.
//! Credentials in `--host`, and how `--host` itself is read.

use crate::support;

use std::path::Path;

use support::server::{Config, Fault, fixture_body};
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

/// The user info in [`with_credentials`] and what Basic auth makes of it.
const PASSWORD: &str = "pa55-w0rd-x";
const BASIC: &str = "Basic cmVhZGVyOnBhNTUtdzByZC14";

/// `http://reader:PASSWORD@127.0.0.1:PORT`: the server's URL with credentials, as for a reverse proxy.
fn with_credentials(port: u16) -> String {
    format!("http://reader:{PASSWORD}@127.0.0.1:{port}")
}

fn assert_password_not_shown(run: &Run) {
    assert!(
        !run.stderr.contains(PASSWORD),
        "password leaked: {}",
        run.stderr
    );
}

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn credentials_in_host_are_sent_as_basic_auth_and_never_shown() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let host = with_credentials(server.port);
    let run = sandbox.run(&[
        "--host",
        &host,
        "-v",
        "get",
        "ox/demo",
        "main/hello.txt",
        "-o",
        "-",
    ]);
    run.expect_code(0)
        .expect_stderr(&format!(
            "> GET http://127.0.0.1:{}/api/repos/ox/demo/",
            server.port
        ))
        .expect_stderr("(authorization: Basic <redacted>)");
    assert_eq!(run.stdout, fixture_body("get-hello"));
    assert_password_not_shown(&run);
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "metadata, then the file");
    for request in &requests {
        assert_eq!(request.header("authorization"), Some(BASIC));
    }
}

#[test]
fn a_token_wins_over_credentials_in_host() {
    let server = secured();
    let sandbox = Sandbox::new();
    let host = with_credentials(server.port);
    let run = sandbox.run(&[
        "--host",
        &host,
        "--token",
        TOKEN,
        "get",
        "ox/demo",
        "main/hello.txt",
        "-o",
        "-",
    ]);
    run.expect_code(0);
    assert_eq!(last_authorization(&server), Some(format!("Bearer {TOKEN}")));
    assert_password_not_shown(&run);
    assert_token_not_shown(&run);
}

#[test]
fn the_config_entry_for_a_host_with_credentials_is_found_without_them() {
    let server = secured();
    let sandbox = Sandbox::new();
    write_auth_config(
        &sandbox.home.path().join(".config/oxen"),
        &format!("127.0.0.1:{}", server.port),
        TOKEN,
    );
    let host = with_credentials(server.port);
    let run = sandbox.run(&[
        "--host",
        &host,
        "get",
        "ox/demo",
        "main/hello.txt",
        "-o",
        "-",
    ]);
    run.expect_code(0);
    assert_eq!(last_authorization(&server), Some(format!("Bearer {TOKEN}")));
}

#[test]
fn rejected_credentials_are_named_but_not_shown() {
    let server = secured();
    let sandbox = Sandbox::new();
    let host = with_credentials(server.port);
    let run = sandbox.run(&[
        "--host",
        &host,
        "get",
        "ox/demo",
        "main/hello.txt",
        "-o",
        "-",
    ]);
    run.expect_code(4)
        .expect_stderr("rejected the user name and password in --host")
        .expect_stderr(&format!("host \"127.0.0.1:{}\"", server.port));
    assert_password_not_shown(&run);
}

#[test]
fn credentials_do_not_follow_a_redirect() {
    // A relative redirect: ureq would send user info left in the URL again to the new location.
    let server = TestServer::with(Config {
        faults: vec![Fault::Redirect(String::new())],
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    let host = with_credentials(server.port);
    let run = sandbox.run(&[
        "--host",
        &host,
        "get",
        "ox/demo",
        "main/hello.txt",
        "--no-verify",
        "-o",
        "-",
    ]);
    run.expect_code(0);
    assert_eq!(run.stdout, fixture_body("get-hello"));
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "the redirect, then the file");
    assert_eq!(requests[0].header("authorization"), Some(BASIC));
    assert_eq!(
        requests[1].header("authorization"),
        None,
        "not after a redirect"
    );
}

#[test]
fn credentials_in_an_unreachable_host_are_never_shown() {
    let sandbox = Sandbox::new();
    let host = with_credentials(closed_port());
    for extra in [&[][..], &["-v"][..]] {
        let mut args = vec!["--host", host.as_str(), "--retries", "0"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["get", "ox/demo", "main/hello.txt"]);
        let run = sandbox.run(&args);
        run.expect_code(7)
            .expect_stderr("cannot reach http://reader:***@127.0.0.1:");
        assert_password_not_shown(&run);
    }
    // Nor in a malformed --host, nor in the warning about plain http.
    let run = sandbox.run(&[
        "--host",
        &format!("http://reader:{PASSWORD}@127.0.0.1:port"),
        "get",
        "ox/demo",
        "main/hello.txt",
    ]);
    run.expect_code(2)
        .expect_stderr("http://reader:***@127.0.0.1:port");
    assert_password_not_shown(&run);
    let run = sandbox.run(&[
        "--host",
        &format!("http://reader:{PASSWORD}@oxdl-test.invalid"),
        "--retries",
        "0",
        "get",
        "ox/demo",
        "main/hello.txt",
    ]);
    run.expect_stderr("in clear over plain http to http://reader:***@oxdl-test.invalid");
    assert_password_not_shown(&run);
}

#[test]
fn an_unbracketed_ipv6_host_is_refused_with_the_bracketed_form() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["--host", "::1:3000", "get", "ox/demo", "main/hello.txt"]);
    run.expect_code(2)
        .expect_stderr("IPv6 address without brackets")
        .expect_stderr("[::1]:3000");
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

#[test]
fn an_empty_oxdl_host_means_the_default_server() {
    let sandbox = Sandbox::new();
    // A proxy nobody listens on: the run shows where it goes without leaving this machine.
    let proxy = format!("http://127.0.0.1:{}", closed_port());
    let args = [
        "-v",
        "--proxy",
        proxy.as_str(),
        "--retries",
        "0",
        "get",
        "ox/demo",
        "main/hello.txt",
    ];
    let mut command = sandbox.command(&args);
    command.env("OXDL_HOST", "");
    let run = sandbox.run_command(command, b"");
    run.expect_code(7)
        .expect_stderr("> GET https://hub.oxen.ai/api/repos/ox/demo/")
        .expect_stderr("cannot reach https://hub.oxen.ai");
    // An empty --host written out is still a mistake.
    let mut args = vec!["--host", ""];
    args.extend_from_slice(&["get", "ox/demo", "main/hello.txt"]);
    sandbox
        .run(&args)
        .expect_code(2)
        .expect_stderr("--host: ''");
}

/// `oxdl --host SERVER [EXTRA] get ox/demo main/hello.txt -o -` with `HOME` set to `home`.
fn get_hello_with_home(sandbox: &Sandbox, server: &TestServer, home: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["--host", server.url.as_str()];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["get", "ox/demo", "main/hello.txt", "-o", "-"]);
    let mut command = sandbox.command(&args);
    command.env("HOME", home);
    sandbox.run_command(command, b"")
}

#[test]
fn an_unreadable_config_is_a_warning_and_the_run_goes_on() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    // A config "file" that is a directory cannot be read, even by root.
    let dir = sandbox.join("cfg");
    std::fs::create_dir_all(dir.join("auth_config.toml")).unwrap();
    let run = get_hello(&sandbox, &server, &["--config-dir", dir.to_str().unwrap()]);
    run.expect_code(0)
        .expect_stderr("warning: cannot read ")
        .expect_stderr("cfg/auth_config.toml: Is a directory")
        .expect_stderr("going on without a token");
    assert_eq!(run.stdout, fixture_body("get-hello"));
    let quiet = get_hello(
        &sandbox,
        &server,
        &["-q", "--config-dir", dir.to_str().unwrap()],
    );
    quiet.expect_code(0);
    assert_eq!(quiet.stderr, "");
    assert_eq!(quiet.stdout, fixture_body("get-hello"));
}

#[test]
fn a_home_that_cannot_be_searched_is_named_when_the_server_wants_a_token() {
    // As under `sudo -u other` with HOME left at the first user's home: the path to the default config
    // cannot be followed. A regular file as HOME does that for root as well (ENOTDIR).
    let server = secured();
    let sandbox = Sandbox::new();
    let home = sandbox.join("home-file");
    std::fs::write(&home, b"").unwrap();
    let run = get_hello_with_home(&sandbox, &server, &home, &[]);
    run.expect_code(4)
        .expect_stderr("warning: cannot read ")
        .expect_stderr("the server needs a token, and no token could be looked up: cannot read ")
        .expect_stderr("home-file/.config/oxen/auth_config.toml: Not a directory");
    assert_eq!(last_authorization(&server), None);
    // Quiet: no warning, but the error still says why no token was sent.
    let quiet = get_hello_with_home(&sandbox, &server, &home, &["-q"]);
    quiet
        .expect_code(4)
        .expect_stderr("no token could be looked up: cannot read ");
    assert!(!quiet.stderr.contains("warning"), "{}", quiet.stderr);
}

/// Whether this process runs as root, for whom permission bits deny nothing.
fn running_as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

#[cfg(unix)]
#[test]
fn a_config_dir_without_permission_is_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    if running_as_root() {
        println!(
            "skipped: running as root, where permission bits deny nothing (the ENOTDIR/EISDIR tests cover this)"
        );
        return;
    }
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let home = sandbox.join("other-home");
    write_auth_config(&home.join(".config/oxen"), "127.0.0.1", "t");
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o000)).unwrap();
    let run = get_hello_with_home(&sandbox, &server, &home, &[]);
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).unwrap();
    run.expect_code(0)
        .expect_stderr("warning: cannot read ")
        .expect_stderr("Permission denied");
    assert_eq!(run.stdout, fixture_body("get-hello"));
}
