//! The loopback server for the tests: `oxdl-testserver` serving the repository captured from a real
//! oxen-server 0.50.7 (copied into `tests/fixtures/`).
//!
//! Repository `ox/demo`: branch `main` (commit 175b5b0e…) holds the captured files, branch `feature/x`
//! (commit 950adc1b…) the same with its own `hello.txt`, as on the real server.

use std::path::{Path, PathBuf};

#[allow(unused_imports)]
pub use oxdl_testserver::{
    BatchRoutes, Blob, Config, Fault, MetaMode, Recorded, Repo, Server, end_of_archive, gzip,
    hash_of, raw_entry, tar_of,
};

pub const MAIN_COMMIT: &str = "175b5b0eb33472df934319ae60476e1e";
pub const FEATURE_COMMIT: &str = "950adc1bee7b07698442ec9a42944e2b";

/// The captured fixtures, copied into the project.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oxen-server-0.50.7")
}

/// A captured response body.
pub fn fixture_body(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("responses").join(format!("{name}.body"))).unwrap()
}

/// The captured repository, plus `extra` files on `main`.
pub fn demo_repo(extra: &[(String, Vec<u8>)]) -> Repo {
    let captured = Repo::from_dir("ox", "demo", &fixtures().join("repo")).unwrap();
    let main_commit = captured.resolve(&["main", "x"]).unwrap().0;
    let mut main: Vec<(String, Blob)> = captured
        .listing(&main_commit)
        .into_iter()
        .map(|(_, path)| {
            let bytes = std::fs::read(fixtures().join("repo").join(&path)).unwrap();
            (path, Blob::bytes(bytes))
        })
        .collect();
    main.extend(
        extra
            .iter()
            .map(|(p, b)| (p.clone(), Blob::bytes(b.clone()))),
    );
    let mut feature = main.clone();
    for (path, blob) in &mut feature {
        if path == "hello.txt" {
            *blob = Blob::bytes(fixture_body("get-branch-slash"));
        }
    }
    // On feature/x, every file but hello.txt was last changed on main.
    let unchanged: Vec<(&str, &str)> = main
        .iter()
        .filter(|(p, _)| p != "hello.txt")
        .map(|(p, _)| (p.as_str(), MAIN_COMMIT))
        .collect();
    let mut repo = Repo::new("ox", "demo");
    repo.add_commit(MAIN_COMMIT, main.clone(), &[]).unwrap();
    repo.add_commit(FEATURE_COMMIT, feature, &unchanged)
        .unwrap();
    repo.add_branch("main", MAIN_COMMIT);
    repo.add_branch("feature/x", FEATURE_COMMIT);
    repo
}

/// A running test server; derefs to [`Server`] for `url`, `port` and `requests()`.
pub struct TestServer(Server);

impl std::ops::Deref for TestServer {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.0
    }
}

impl TestServer {
    /// The demo repository, answering as the real server.
    pub fn start() -> TestServer {
        Self::with(Config::default())
    }

    /// The demo repository with `config`'s extras and faults, on a free loopback port.
    pub fn with(mut config: Config) -> TestServer {
        let repo = demo_repo(&config.extra_files);
        // The captured answers to the two resize requests that were made of the real server.
        let png = "images/gradient.png".to_string();
        config.resized.push((
            png.clone(),
            Some(32),
            Some(32),
            fixture_body("get-resize-32x32"),
        ));
        config
            .resized
            .push((png, Some(16), None, fixture_body("get-resize-w16")));
        TestServer(Server::start(repo, config, "127.0.0.1", 0).unwrap())
    }
}
