use std::process::ExitCode;

use clap::Parser;

/// Runs before Rust's runtime, which would put /dev/null in place of a closed stdout: oxdl must tell
/// `>&-` apart from a real output, or bytes written there would vanish and the run report success.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static RECORD_STDOUT: extern "C" fn() = record_stdout;

#[cfg(target_os = "linux")]
extern "C" fn record_stdout() {
    oxdl::term::output::record_stdout_at_start();
}

fn main() -> ExitCode {
    let cli = oxdl::cli::Cli::parse();
    oxdl::interrupt::install();
    match oxdl::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // Like other filters, a closed stdout (`oxdl get … -o - | head`) ends the run quietly.
        Err(err) if oxdl::error::is_output_closed(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("oxdl: error: {err:#}");
            ExitCode::from(oxdl::error::kind_of(&err).exit_code())
        }
    }
}
