use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = oxdl::cli::Cli::parse();
    match oxdl::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("oxdl: error: {err:#}");
            ExitCode::from(oxdl::error::kind_of(&err).exit_code())
        }
    }
}
