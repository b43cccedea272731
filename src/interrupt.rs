//! Ctrl-C, SIGTERM and SIGHUP: remove the temp files being written, then exit with 128 + the signal number.

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
            let message = format!("oxdl: interrupted by {name}; unfinished files removed");
            crate::fsio::remove_temp_files_and_exit(128 + signal, message);
        }
    });
}

/// Without unix signals, the default handling stays (temp files are swept by the next run).
#[cfg(not(unix))]
pub fn install() {}
