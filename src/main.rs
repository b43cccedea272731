use std::process::ExitCode;

use clap::Parser;

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
