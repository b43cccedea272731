//! `oxdl batch`: many files by content hash, from a list in a file or on stdin.

use anyhow::Result;

use crate::cli::BatchArgs;
use crate::disk::fsio::Confined;
use crate::disk::lists::{ListInput, read_ahead};
use crate::engine::Ui;
use crate::engine::batch::{Settings, Source, execute};
use crate::server::remote::Remote;
use crate::term::report::Reporter;

/// Downloads every file of the hash list into the output directory.
///
/// A list in a file is checked whole before any request (then read again as it is planned, so that it
/// is never held in memory). A list piped into stdin is read as it arrives, and requests start as soon
/// as a request's worth of files is known; a bad line then stops the run (the files already written
/// stay).
pub(crate) fn run(remote: &Remote, args: &BatchArgs, ui: &Ui, reporter: &Reporter) -> Result<()> {
    let source = match ListInput::open(args.hash_file.as_deref(), args.null)? {
        ListInput::File(list) => {
            // Every destination is checked before anything is written.
            let mut confined = Confined::new(&args.output_dir);
            let checked = list.check(|entry| confined.check(&entry.destination))?;
            Source::Checked(list.replay(checked)?)
        }
        ListInput::Stream(reader) => Source::Piped(read_ahead(reader)),
    };
    let settings = Settings {
        repo: &args.repo,
        out: &args.output_dir,
        batch_size: args.batch_size as usize,
        jobs: args.jobs as usize,
        skip: args.skip_existing,
        dry_run: args.dry_run,
        shard: args.shard,
        revision: None,
        large: None,
        from_listing: false,
    };
    execute(remote, &settings, source, ui, reporter)
}
