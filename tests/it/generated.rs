//! The committed shell completions and man pages are generated from the clap definition and must be fresh.
//!
//! Regenerate them with: `OXDL_REGENERATE=1 cargo test --test it generated`, then commit `completions/` and `man/`.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::{Generator, Shell};

/// Every generated file: its path in the repository and its contents.
fn generated() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut command = oxdl::cli::Cli::command();
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::PowerShell,
        Shell::Elvish,
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut command, "oxdl", &mut buf);
        files.push((
            Path::new("completions").join(Generator::file_name(&shell, "oxdl")),
            buf,
        ));
    }
    command.build();
    files.push(man_page(command.clone(), "oxdl"));
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        // clap names are 'static; leaking two short strings in a test is harmless.
        let name: &'static str = format!("oxdl-{}", sub.get_name()).leak();
        files.push(man_page(sub.clone().name(name).bin_name(name), name));
    }
    files
}

fn man_page(command: clap::Command, name: &str) -> (PathBuf, Vec<u8>) {
    let mut buf = Vec::new();
    clap_mangen::Man::new(command).render(&mut buf).unwrap();
    (Path::new("man").join(format!("{name}.1")), buf)
}

#[test]
fn completions_and_man_pages_are_fresh() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let regenerate = std::env::var_os("OXDL_REGENERATE").is_some();
    let mut stale = Vec::new();
    for (rel, contents) in generated() {
        let path = root.join(&rel);
        if regenerate {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &contents).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(&contents[..]) {
            stale.push(rel.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files {stale:?}: run `OXDL_REGENERATE=1 cargo test --test it generated` and commit them"
    );
}

#[test]
fn man_page_lists_the_exit_codes() {
    let (_, page) = generated()
        .into_iter()
        .find(|(p, _)| p.ends_with("oxdl.1"))
        .unwrap();
    let page = String::from_utf8(page).unwrap();
    for (_, code, what) in oxdl::error::EXIT_CODES {
        assert!(
            page.contains(&format!("{code}  {what}")),
            "{code} missing from man page"
        );
    }
}
