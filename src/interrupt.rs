//! Ctrl-C, SIGTERM and SIGHUP: remove the temp files being written (keeping the parts of large downloads
//! for the next run), then exit with 128 + the signal number.

/// Starts a thread that waits for SIGINT, SIGTERM or SIGHUP (the terminal closed); a failure to install it
/// only loses the cleanup.
#[cfg(unix)]
pub fn install() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let name = match signal {
                SIGINT => "SIGINT",
                SIGHUP => "SIGHUP",
                _ => "SIGTERM",
            };
            // Large downloads keep their part and state files: the same command resumes them.
            let kept = crate::engine::ranged::keep_for_resume();
            let message = match kept.as_slice() {
                [] => format!("oxdl: interrupted by {name}; unfinished files removed"),
                kept => format!(
                    "oxdl: interrupted by {name}; unfinished files removed, except {}, kept so that \
                     the same command resumes (--no-resume starts over)",
                    kept.iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            crate::disk::fsio::remove_temp_files_and_exit(128 + signal, message);
        }
    });
}

/// Without unix signals, the default handling stays (temp files are swept by the next run).
#[cfg(not(unix))]
pub fn install() {}
