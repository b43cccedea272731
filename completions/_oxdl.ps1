
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'oxdl' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'oxdl'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'oxdl' {
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Server to talk to: HOST[:PORT] or a full base URL')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token for the server (otherwise read from the oxen auth_config.toml)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding the official client''s auth_config.toml [default: ~/.config/oxen]')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show progress: a bar on a terminal (auto), always a bar, plain status lines for CI logs, or none')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Connect through this proxy (otherwise HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, unless NO_PROXY names the host)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Also trust the certificate authorities in this PEM file (for a private or corporate CA)')
            [CompletionResult]::new('--checksums', '--checksums', [CompletionResultType]::ParameterName, 'Write a `sha256sum -c` manifest of the files in place (paths relative to the output directory)')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How often to retry a failed request (connection errors, timeouts, cut-off bodies, 408, 429, 5xx)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds allowed for establishing a connection')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds without any data from the server before a transfer counts as failed (no limit on total time)')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'Keep every file downloaded in this content-addressed cache, and put files the cache holds in place from it instead of downloading them (get, batch, get -r). Shared by every run, output directory and repository; safe for runs at the same time. OXDL_CACHE_DIR set but empty means none')
            [CompletionResult]::new('--link', '--link', [CompletionResultType]::ParameterName, 'How files from the cache are put in place: reflink (a copy-on-write clone where the filesystem can, else a copy), copy, or hard (hard links: no extra space, but outputs and cache entries are the same read-only files, so editing one after chmod edits the other)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per file, then a summary object, on stdout (and nothing else there)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log every request and answer on stderr (tokens and passwords are never shown)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log every request and answer on stderr (tokens and passwords are never shown)')
            [CompletionResult]::new('--trust-cache', '--trust-cache', [CompletionResultType]::ParameterName, 'Put files from the cache in place without hashing them first (faster; a damaged entry is then not noticed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Download one file by its path at a revision, or a directory tree with -r')
            [CompletionResult]::new('batch', 'batch', [CompletionResultType]::ParameterValue, 'Download many files by content hash')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List files as `HASH PATH` lines, the list `oxdl batch` reads')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check files on disk against a hash list, offline: no server, no token')
            [CompletionResult]::new('cache', 'cache', [CompletionResultType]::ParameterValue, 'Look after the cache of --cache-dir: its size, and evicting what was used least recently')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'oxdl;get' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Where to write the file: a path, an existing directory, or - for stdout [default: the file''s name]. With -r, the directory to write the tree into [default: the directory''s name, or the repository''s for a whole revision]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Where to write the file: a path, an existing directory, or - for stdout [default: the file''s name]. With -r, the directory to write the tree into [default: the directory''s name, or the repository''s for a whole revision]')
            [CompletionResult]::new('--width', '--width', [CompletionResultType]::ParameterName, 'Resize an image to this width (alone: fit inside a WIDTH x WIDTH box)')
            [CompletionResult]::new('--height', '--height', [CompletionResultType]::ParameterName, 'Resize an image to this height (alone: fit inside a HEIGHT x HEIGHT box)')
            [CompletionResult]::new('--include', '--include', [CompletionResultType]::ParameterName, 'Only files matching PATTERN, by the rules of .gitignore: ''*.bin'' is every .bin file at any depth. Repeatable: a file matching any is kept')
            [CompletionResult]::new('--exclude', '--exclude', [CompletionResultType]::ParameterName, 'Leave out files matching PATTERN, or below a directory matching it (the rules of --include); beats --include. Repeatable')
            [CompletionResult]::new('--batch-size', '--batch-size', [CompletionResultType]::ParameterName, 'With -r: hashes per request [default: 1000]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'With -r: requests to run at once [default: 4]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'With -r: requests to run at once [default: 4]')
            [CompletionResult]::new('--skip-existing', '--skip-existing', [CompletionResultType]::ParameterName, 'With -r: how to tell that a file already present need not be fetched again [default: hash]')
            [CompletionResult]::new('--shard', '--shard', [CompletionResultType]::ParameterName, 'With -r: only the files whose content hash falls in shard K of N (see `oxdl batch --help`)')
            [CompletionResult]::new('--chunk-threshold', '--chunk-threshold', [CompletionResultType]::ParameterName, 'Files at least this large (K, M, G: KiB, MiB, GiB) are fetched in parallel ranges through the server''s /chunk route, resumable across runs; smaller ones in one stream (with -r: in batch requests) [default: 16M; for a server on this machine (localhost, loopback), off: one stream is faster there]')
            [CompletionResult]::new('--chunk-size', '--chunk-size', [CompletionResultType]::ParameterName, 'Size of each range of a ranged download (the last one is shorter)')
            [CompletionResult]::new('--connections', '--connections', [CompletionResultType]::ParameterName, 'Ranges fetched at once, each over its own connection. With -r, one budget for the whole run: at most the larger of -j and --connections connections at once, a batch request taking one and a large file as many as are free')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Server to talk to: HOST[:PORT] or a full base URL')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token for the server (otherwise read from the oxen auth_config.toml)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding the official client''s auth_config.toml [default: ~/.config/oxen]')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show progress: a bar on a terminal (auto), always a bar, plain status lines for CI logs, or none')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Connect through this proxy (otherwise HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, unless NO_PROXY names the host)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Also trust the certificate authorities in this PEM file (for a private or corporate CA)')
            [CompletionResult]::new('--checksums', '--checksums', [CompletionResultType]::ParameterName, 'Write a `sha256sum -c` manifest of the files in place (paths relative to the output directory)')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How often to retry a failed request (connection errors, timeouts, cut-off bodies, 408, 429, 5xx)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds allowed for establishing a connection')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds without any data from the server before a transfer counts as failed (no limit on total time)')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'Keep every file downloaded in this content-addressed cache, and put files the cache holds in place from it instead of downloading them (get, batch, get -r). Shared by every run, output directory and repository; safe for runs at the same time. OXDL_CACHE_DIR set but empty means none')
            [CompletionResult]::new('--link', '--link', [CompletionResultType]::ParameterName, 'How files from the cache are put in place: reflink (a copy-on-write clone where the filesystem can, else a copy), copy, or hard (hard links: no extra space, but outputs and cache entries are the same read-only files, so editing one after chmod edits the other)')
            [CompletionResult]::new('--no-verify', '--no-verify', [CompletionResultType]::ParameterName, 'Skip checking the bytes against the content hash and size in the server''s metadata')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Download the tree under REVISION/PATH into a directory (REVISION alone: the whole revision)')
            [CompletionResult]::new('--recursive', '--recursive', [CompletionResultType]::ParameterName, 'Download the tree under REVISION/PATH into a directory (REVISION alone: the whole revision)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'With -r: print what would be fetched (HASH PATH SIZE, or JSON with --json) and the totals; fetch nothing')
            [CompletionResult]::new('--no-resume', '--no-resume', [CompletionResultType]::ParameterName, 'Discard what an earlier, interrupted download of this file left, and start from byte 0')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per file, then a summary object, on stdout (and nothing else there)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log every request and answer on stderr (tokens and passwords are never shown)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log every request and answer on stderr (tokens and passwords are never shown)')
            [CompletionResult]::new('--trust-cache', '--trust-cache', [CompletionResultType]::ParameterName, 'Put files from the cache in place without hashing them first (faster; a damaged entry is then not noticed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'oxdl;batch' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Directory to write the files into (created if missing)')
            [CompletionResult]::new('--output-dir', '--output-dir', [CompletionResultType]::ParameterName, 'Directory to write the files into (created if missing)')
            [CompletionResult]::new('--batch-size', '--batch-size', [CompletionResultType]::ParameterName, 'Hashes per request: a failed request costs at most this many files')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Requests to run at once (each its own stream, decoded on its own thread)')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Requests to run at once (each its own stream, decoded on its own thread)')
            [CompletionResult]::new('--skip-existing', '--skip-existing', [CompletionResultType]::ParameterName, 'How to tell that a file already present need not be fetched again')
            [CompletionResult]::new('--shard', '--shard', [CompletionResultType]::ParameterName, 'Only the files whose content hash falls in shard K of N (0 <= K < N): N machines given the same list fetch disjoint parts that together make the whole')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Server to talk to: HOST[:PORT] or a full base URL')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token for the server (otherwise read from the oxen auth_config.toml)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding the official client''s auth_config.toml [default: ~/.config/oxen]')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show progress: a bar on a terminal (auto), always a bar, plain status lines for CI logs, or none')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Connect through this proxy (otherwise HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, unless NO_PROXY names the host)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Also trust the certificate authorities in this PEM file (for a private or corporate CA)')
            [CompletionResult]::new('--checksums', '--checksums', [CompletionResultType]::ParameterName, 'Write a `sha256sum -c` manifest of the files in place (paths relative to the output directory)')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How often to retry a failed request (connection errors, timeouts, cut-off bodies, 408, 429, 5xx)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds allowed for establishing a connection')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds without any data from the server before a transfer counts as failed (no limit on total time)')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'Keep every file downloaded in this content-addressed cache, and put files the cache holds in place from it instead of downloading them (get, batch, get -r). Shared by every run, output directory and repository; safe for runs at the same time. OXDL_CACHE_DIR set but empty means none')
            [CompletionResult]::new('--link', '--link', [CompletionResultType]::ParameterName, 'How files from the cache are put in place: reflink (a copy-on-write clone where the filesystem can, else a copy), copy, or hard (hard links: no extra space, but outputs and cache entries are the same read-only files, so editing one after chmod edits the other)')
            [CompletionResult]::new('-0', '-0', [CompletionResultType]::ParameterName, 'Read NUL-separated entries (`HASH PATH\0`, as `oxdl ls -0` writes), each PATH taken literally')
            [CompletionResult]::new('--null', '--null', [CompletionResultType]::ParameterName, 'Read NUL-separated entries (`HASH PATH\0`, as `oxdl ls -0` writes), each PATH taken literally')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print what would be fetched (HASH PATH SIZE, or JSON with --json) and the totals; fetch nothing')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per file, then a summary object, on stdout (and nothing else there)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log every request and answer on stderr (tokens and passwords are never shown)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log every request and answer on stderr (tokens and passwords are never shown)')
            [CompletionResult]::new('--trust-cache', '--trust-cache', [CompletionResultType]::ParameterName, 'Put files from the cache in place without hashing them first (faster; a damaged entry is then not noticed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'oxdl;ls' {
            [CompletionResult]::new('--include', '--include', [CompletionResultType]::ParameterName, 'Only files matching PATTERN, by the rules of .gitignore: ''*.bin'' is every .bin file at any depth. Repeatable: a file matching any is kept')
            [CompletionResult]::new('--exclude', '--exclude', [CompletionResultType]::ParameterName, 'Leave out files matching PATTERN, or below a directory matching it (the rules of --include); beats --include. Repeatable')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Server to talk to: HOST[:PORT] or a full base URL')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token for the server (otherwise read from the oxen auth_config.toml)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding the official client''s auth_config.toml [default: ~/.config/oxen]')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show progress: a bar on a terminal (auto), always a bar, plain status lines for CI logs, or none')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Connect through this proxy (otherwise HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, unless NO_PROXY names the host)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Also trust the certificate authorities in this PEM file (for a private or corporate CA)')
            [CompletionResult]::new('--checksums', '--checksums', [CompletionResultType]::ParameterName, 'Write a `sha256sum -c` manifest of the files in place (paths relative to the output directory)')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How often to retry a failed request (connection errors, timeouts, cut-off bodies, 408, 429, 5xx)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds allowed for establishing a connection')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds without any data from the server before a transfer counts as failed (no limit on total time)')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'Keep every file downloaded in this content-addressed cache, and put files the cache holds in place from it instead of downloading them (get, batch, get -r). Shared by every run, output directory and repository; safe for runs at the same time. OXDL_CACHE_DIR set but empty means none')
            [CompletionResult]::new('--link', '--link', [CompletionResultType]::ParameterName, 'How files from the cache are put in place: reflink (a copy-on-write clone where the filesystem can, else a copy), copy, or hard (hard links: no extra space, but outputs and cache entries are the same read-only files, so editing one after chmod edits the other)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'List the files of subdirectories too')
            [CompletionResult]::new('--recursive', '--recursive', [CompletionResultType]::ParameterName, 'List the files of subdirectories too')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'For people: size, hash and path, and the directories')
            [CompletionResult]::new('--long', '--long', [CompletionResultType]::ParameterName, 'For people: size, hash and path, and the directories')
            [CompletionResult]::new('-0', '-0', [CompletionResultType]::ParameterName, 'End each entry with NUL instead of a newline and write names as they are, unquoted (for `batch -0`)')
            [CompletionResult]::new('--null', '--null', [CompletionResultType]::ParameterName, 'End each entry with NUL instead of a newline and write names as they are, unquoted (for `batch -0`)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per file, then a summary object, on stdout (and nothing else there)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log every request and answer on stderr (tokens and passwords are never shown)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log every request and answer on stderr (tokens and passwords are never shown)')
            [CompletionResult]::new('--trust-cache', '--trust-cache', [CompletionResultType]::ParameterName, 'Put files from the cache in place without hashing them first (faster; a damaged entry is then not noticed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'oxdl;verify' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Directory holding the files (the PATHs of the list are relative to it)')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Directory holding the files (the PATHs of the list are relative to it)')
            [CompletionResult]::new('--output-dir', '--output-dir', [CompletionResultType]::ParameterName, 'Directory holding the files (the PATHs of the list are relative to it)')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Files to hash at once [default: the number of CPUs]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Files to hash at once [default: the number of CPUs]')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Server to talk to: HOST[:PORT] or a full base URL')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token for the server (otherwise read from the oxen auth_config.toml)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding the official client''s auth_config.toml [default: ~/.config/oxen]')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show progress: a bar on a terminal (auto), always a bar, plain status lines for CI logs, or none')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Connect through this proxy (otherwise HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, unless NO_PROXY names the host)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Also trust the certificate authorities in this PEM file (for a private or corporate CA)')
            [CompletionResult]::new('--checksums', '--checksums', [CompletionResultType]::ParameterName, 'Write a `sha256sum -c` manifest of the files in place (paths relative to the output directory)')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How often to retry a failed request (connection errors, timeouts, cut-off bodies, 408, 429, 5xx)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds allowed for establishing a connection')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds without any data from the server before a transfer counts as failed (no limit on total time)')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'Keep every file downloaded in this content-addressed cache, and put files the cache holds in place from it instead of downloading them (get, batch, get -r). Shared by every run, output directory and repository; safe for runs at the same time. OXDL_CACHE_DIR set but empty means none')
            [CompletionResult]::new('--link', '--link', [CompletionResultType]::ParameterName, 'How files from the cache are put in place: reflink (a copy-on-write clone where the filesystem can, else a copy), copy, or hard (hard links: no extra space, but outputs and cache entries are the same read-only files, so editing one after chmod edits the other)')
            [CompletionResult]::new('-0', '-0', [CompletionResultType]::ParameterName, 'Read NUL-separated entries (`HASH PATH\0`, as `oxdl ls -0` writes), each PATH taken literally')
            [CompletionResult]::new('--null', '--null', [CompletionResultType]::ParameterName, 'Read NUL-separated entries (`HASH PATH\0`, as `oxdl ls -0` writes), each PATH taken literally')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per file, then a summary object, on stdout (and nothing else there)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log every request and answer on stderr (tokens and passwords are never shown)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log every request and answer on stderr (tokens and passwords are never shown)')
            [CompletionResult]::new('--trust-cache', '--trust-cache', [CompletionResultType]::ParameterName, 'Put files from the cache in place without hashing them first (faster; a damaged entry is then not noticed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'oxdl;cache' {
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Server to talk to: HOST[:PORT] or a full base URL')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token for the server (otherwise read from the oxen auth_config.toml)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding the official client''s auth_config.toml [default: ~/.config/oxen]')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show progress: a bar on a terminal (auto), always a bar, plain status lines for CI logs, or none')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Connect through this proxy (otherwise HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, unless NO_PROXY names the host)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Also trust the certificate authorities in this PEM file (for a private or corporate CA)')
            [CompletionResult]::new('--checksums', '--checksums', [CompletionResultType]::ParameterName, 'Write a `sha256sum -c` manifest of the files in place (paths relative to the output directory)')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How often to retry a failed request (connection errors, timeouts, cut-off bodies, 408, 429, 5xx)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds allowed for establishing a connection')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds without any data from the server before a transfer counts as failed (no limit on total time)')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'Keep every file downloaded in this content-addressed cache, and put files the cache holds in place from it instead of downloading them (get, batch, get -r). Shared by every run, output directory and repository; safe for runs at the same time. OXDL_CACHE_DIR set but empty means none')
            [CompletionResult]::new('--link', '--link', [CompletionResultType]::ParameterName, 'How files from the cache are put in place: reflink (a copy-on-write clone where the filesystem can, else a copy), copy, or hard (hard links: no extra space, but outputs and cache entries are the same read-only files, so editing one after chmod edits the other)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per file, then a summary object, on stdout (and nothing else there)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log every request and answer on stderr (tokens and passwords are never shown)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log every request and answer on stderr (tokens and passwords are never shown)')
            [CompletionResult]::new('--trust-cache', '--trust-cache', [CompletionResultType]::ParameterName, 'Put files from the cache in place without hashing them first (faster; a damaged entry is then not noticed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('info', 'info', [CompletionResultType]::ParameterValue, 'Print how many files the cache holds and their bytes')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Evict the least recently used files until the cache holds at most SIZE')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'oxdl;cache;info' {
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Server to talk to: HOST[:PORT] or a full base URL')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token for the server (otherwise read from the oxen auth_config.toml)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding the official client''s auth_config.toml [default: ~/.config/oxen]')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show progress: a bar on a terminal (auto), always a bar, plain status lines for CI logs, or none')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Connect through this proxy (otherwise HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, unless NO_PROXY names the host)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Also trust the certificate authorities in this PEM file (for a private or corporate CA)')
            [CompletionResult]::new('--checksums', '--checksums', [CompletionResultType]::ParameterName, 'Write a `sha256sum -c` manifest of the files in place (paths relative to the output directory)')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How often to retry a failed request (connection errors, timeouts, cut-off bodies, 408, 429, 5xx)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds allowed for establishing a connection')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds without any data from the server before a transfer counts as failed (no limit on total time)')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'Keep every file downloaded in this content-addressed cache, and put files the cache holds in place from it instead of downloading them (get, batch, get -r). Shared by every run, output directory and repository; safe for runs at the same time. OXDL_CACHE_DIR set but empty means none')
            [CompletionResult]::new('--link', '--link', [CompletionResultType]::ParameterName, 'How files from the cache are put in place: reflink (a copy-on-write clone where the filesystem can, else a copy), copy, or hard (hard links: no extra space, but outputs and cache entries are the same read-only files, so editing one after chmod edits the other)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per file, then a summary object, on stdout (and nothing else there)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log every request and answer on stderr (tokens and passwords are never shown)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log every request and answer on stderr (tokens and passwords are never shown)')
            [CompletionResult]::new('--trust-cache', '--trust-cache', [CompletionResultType]::ParameterName, 'Put files from the cache in place without hashing them first (faster; a damaged entry is then not noticed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'oxdl;cache;prune' {
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'The most the cache may hold afterwards: bytes, or a number with K, M, G or T (powers of 1024), e.g. 500M, 10G, 1.5T')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Server to talk to: HOST[:PORT] or a full base URL')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token for the server (otherwise read from the oxen auth_config.toml)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Directory holding the official client''s auth_config.toml [default: ~/.config/oxen]')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'How to show progress: a bar on a terminal (auto), always a bar, plain status lines for CI logs, or none')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Connect through this proxy (otherwise HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, unless NO_PROXY names the host)')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Also trust the certificate authorities in this PEM file (for a private or corporate CA)')
            [CompletionResult]::new('--checksums', '--checksums', [CompletionResultType]::ParameterName, 'Write a `sha256sum -c` manifest of the files in place (paths relative to the output directory)')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'How often to retry a failed request (connection errors, timeouts, cut-off bodies, 408, 429, 5xx)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds allowed for establishing a connection')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds without any data from the server before a transfer counts as failed (no limit on total time)')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'Keep every file downloaded in this content-addressed cache, and put files the cache holds in place from it instead of downloading them (get, batch, get -r). Shared by every run, output directory and repository; safe for runs at the same time. OXDL_CACHE_DIR set but empty means none')
            [CompletionResult]::new('--link', '--link', [CompletionResultType]::ParameterName, 'How files from the cache are put in place: reflink (a copy-on-write clone where the filesystem can, else a copy), copy, or hard (hard links: no extra space, but outputs and cache entries are the same read-only files, so editing one after chmod edits the other)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object per file, then a summary object, on stdout (and nothing else there)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log every request and answer on stderr (tokens and passwords are never shown)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log every request and answer on stderr (tokens and passwords are never shown)')
            [CompletionResult]::new('--trust-cache', '--trust-cache', [CompletionResultType]::ParameterName, 'Put files from the cache in place without hashing them first (faster; a damaged entry is then not noticed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'oxdl;cache;help' {
            [CompletionResult]::new('info', 'info', [CompletionResultType]::ParameterValue, 'Print how many files the cache holds and their bytes')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Evict the least recently used files until the cache holds at most SIZE')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'oxdl;cache;help;info' {
            break
        }
        'oxdl;cache;help;prune' {
            break
        }
        'oxdl;cache;help;help' {
            break
        }
        'oxdl;help' {
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Download one file by its path at a revision, or a directory tree with -r')
            [CompletionResult]::new('batch', 'batch', [CompletionResultType]::ParameterValue, 'Download many files by content hash')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List files as `HASH PATH` lines, the list `oxdl batch` reads')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check files on disk against a hash list, offline: no server, no token')
            [CompletionResult]::new('cache', 'cache', [CompletionResultType]::ParameterValue, 'Look after the cache of --cache-dir: its size, and evicting what was used least recently')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'oxdl;help;get' {
            break
        }
        'oxdl;help;batch' {
            break
        }
        'oxdl;help;ls' {
            break
        }
        'oxdl;help;verify' {
            break
        }
        'oxdl;help;cache' {
            [CompletionResult]::new('info', 'info', [CompletionResultType]::ParameterValue, 'Print how many files the cache holds and their bytes')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Evict the least recently used files until the cache holds at most SIZE')
            break
        }
        'oxdl;help;cache;info' {
            break
        }
        'oxdl;help;cache;prune' {
            break
        }
        'oxdl;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
