# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_oxdl_global_optspecs
    string join \n host= token= config-dir= q/quiet progress= proxy= cacert= json checksums= v/verbose retries= connect-timeout= timeout= cache-dir= link= trust-cache h/help V/version
end

function __fish_oxdl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_oxdl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_oxdl_using_subcommand
    set -l cmd (__fish_oxdl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c oxdl -n "__fish_oxdl_needs_command" -l host -d 'Server to talk to: HOST[:PORT] or a full base URL' -r
complete -c oxdl -n "__fish_oxdl_needs_command" -l token -d 'Bearer token for the server (otherwise read from the oxen auth_config.toml)' -r
complete -c oxdl -n "__fish_oxdl_needs_command" -l config-dir -d 'Directory holding the official client\'s auth_config.toml [default: ~/.config/oxen]' -r -F
complete -c oxdl -n "__fish_oxdl_needs_command" -l progress -d 'How to show progress: a bar on a terminal (auto), always a bar, plain status lines for CI logs, or none' -r -f -a "auto\t'A bar when stderr is a terminal, nothing otherwise'
bar\t'Always a bar'
plain\t'A status line every few seconds and at the end, without control characters: for CI logs'
none\t'Nothing'"
complete -c oxdl -n "__fish_oxdl_needs_command" -l proxy -d 'Connect through this proxy (otherwise HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, unless NO_PROXY names the host)' -r
complete -c oxdl -n "__fish_oxdl_needs_command" -l cacert -d 'Also trust the certificate authorities in this PEM file (for a private or corporate CA)' -r -F
complete -c oxdl -n "__fish_oxdl_needs_command" -l checksums -d 'Write a `sha256sum -c` manifest of the files in place (paths relative to the output directory)' -r -F
complete -c oxdl -n "__fish_oxdl_needs_command" -l retries -d 'How often to retry a failed request (connection errors, timeouts, cut-off bodies, 408, 429, 5xx)' -r
complete -c oxdl -n "__fish_oxdl_needs_command" -l connect-timeout -d 'Seconds allowed for establishing a connection' -r
complete -c oxdl -n "__fish_oxdl_needs_command" -l timeout -d 'Seconds without any data from the server before a transfer counts as failed (no limit on total time)' -r
complete -c oxdl -n "__fish_oxdl_needs_command" -l cache-dir -d 'Keep every file downloaded in this content-addressed cache, and put files the cache holds in place from it instead of downloading them (get, batch, get -r). Shared by every run, output directory and repository; safe for runs at the same time. OXDL_CACHE_DIR set but empty means none' -r -F
complete -c oxdl -n "__fish_oxdl_needs_command" -l link -d 'How files from the cache are put in place: reflink (a copy-on-write clone where the filesystem can, else a copy), copy, or hard (hard links: no extra space, but outputs and cache entries are the same read-only files, so editing one after chmod edits the other)' -r -f -a "reflink\t'A copy-on-write clone (FICLONE on Linux) where the filesystem supports it, else a copy'
copy\t'Always a copy of the bytes'
hard\t'A hard link to the cache entry (a copy across filesystems)'"
complete -c oxdl -n "__fish_oxdl_needs_command" -s q -l quiet -d 'Print nothing but errors'
complete -c oxdl -n "__fish_oxdl_needs_command" -l json -d 'Print one JSON object per file, then a summary object, on stdout (and nothing else there)'
complete -c oxdl -n "__fish_oxdl_needs_command" -s v -l verbose -d 'Log every request and answer on stderr (tokens and passwords are never shown)'
complete -c oxdl -n "__fish_oxdl_needs_command" -l trust-cache -d 'Put files from the cache in place without hashing them first (faster; a damaged entry is then not noticed)'
complete -c oxdl -n "__fish_oxdl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oxdl -n "__fish_oxdl_needs_command" -s V -l version -d 'Print version'
complete -c oxdl -n "__fish_oxdl_needs_command" -f -a "get" -d 'Download one file by its path at a revision, or a directory tree with -r'
complete -c oxdl -n "__fish_oxdl_needs_command" -f -a "batch" -d 'Download many files by content hash'
complete -c oxdl -n "__fish_oxdl_needs_command" -f -a "ls" -d 'List files as `HASH PATH` lines, the list `oxdl batch` reads'
complete -c oxdl -n "__fish_oxdl_needs_command" -f -a "verify" -d 'Check files on disk against a hash list, offline: no server, no token'
complete -c oxdl -n "__fish_oxdl_needs_command" -f -a "cache" -d 'Look after the cache of --cache-dir: its size, and evicting what was used least recently'
complete -c oxdl -n "__fish_oxdl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -s o -l output -d 'Where to write the file: a path, an existing directory, or - for stdout [default: the file\'s name]. With -r, the directory to write the tree into [default: the directory\'s name, or the repository\'s for a whole revision]' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l width -d 'Resize an image to this width (alone: fit inside a WIDTH x WIDTH box)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l height -d 'Resize an image to this height (alone: fit inside a HEIGHT x HEIGHT box)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l include -d 'Only files matching PATTERN, by the rules of .gitignore: \'*.bin\' is every .bin file at any depth. Repeatable: a file matching any is kept' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l exclude -d 'Leave out files matching PATTERN, or below a directory matching it (the rules of --include); beats --include. Repeatable' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l batch-size -d 'With -r: hashes per request [default: 1000]' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -s j -l jobs -d 'With -r: requests to run at once [default: 4]' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l skip-existing -d 'With -r: how to tell that a file already present need not be fetched again [default: hash]' -r -f -a "hash\t'Hash the local file with XXH3-128 and compare it with its name'
size\t'Trust a file that is present and not empty (empty only for the empty file\'s hash); no hashing'
never\t'Always fetch'"
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l shard -d 'With -r: only the files whose content hash falls in shard K of N (see `oxdl batch --help`)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l chunk-threshold -d 'Files at least this large (K, M, G: KiB, MiB, GiB) are fetched in parallel ranges through the server\'s /chunk route, resumable across runs; smaller ones in one stream (with -r: in batch requests) [default: 16M; for a server on this machine (localhost, loopback), off: one stream is faster there]' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l chunk-size -d 'Size of each range of a ranged download (the last one is shorter)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l connections -d 'Ranges fetched at once, each over its own connection. With -r, one budget for the whole run: at most the larger of -j and --connections connections at once, a batch request taking one and a large file as many as are free' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l host -d 'Server to talk to: HOST[:PORT] or a full base URL' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l token -d 'Bearer token for the server (otherwise read from the oxen auth_config.toml)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l config-dir -d 'Directory holding the official client\'s auth_config.toml [default: ~/.config/oxen]' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l progress -d 'How to show progress: a bar on a terminal (auto), always a bar, plain status lines for CI logs, or none' -r -f -a "auto\t'A bar when stderr is a terminal, nothing otherwise'
bar\t'Always a bar'
plain\t'A status line every few seconds and at the end, without control characters: for CI logs'
none\t'Nothing'"
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l proxy -d 'Connect through this proxy (otherwise HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, unless NO_PROXY names the host)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l cacert -d 'Also trust the certificate authorities in this PEM file (for a private or corporate CA)' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l checksums -d 'Write a `sha256sum -c` manifest of the files in place (paths relative to the output directory)' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l retries -d 'How often to retry a failed request (connection errors, timeouts, cut-off bodies, 408, 429, 5xx)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l connect-timeout -d 'Seconds allowed for establishing a connection' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l timeout -d 'Seconds without any data from the server before a transfer counts as failed (no limit on total time)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l cache-dir -d 'Keep every file downloaded in this content-addressed cache, and put files the cache holds in place from it instead of downloading them (get, batch, get -r). Shared by every run, output directory and repository; safe for runs at the same time. OXDL_CACHE_DIR set but empty means none' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l link -d 'How files from the cache are put in place: reflink (a copy-on-write clone where the filesystem can, else a copy), copy, or hard (hard links: no extra space, but outputs and cache entries are the same read-only files, so editing one after chmod edits the other)' -r -f -a "reflink\t'A copy-on-write clone (FICLONE on Linux) where the filesystem supports it, else a copy'
copy\t'Always a copy of the bytes'
hard\t'A hard link to the cache entry (a copy across filesystems)'"
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l no-verify -d 'Skip checking the bytes against the content hash and size in the server\'s metadata'
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -s r -l recursive -d 'Download the tree under REVISION/PATH into a directory (REVISION alone: the whole revision)'
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l dry-run -d 'With -r: print what would be fetched (HASH PATH SIZE, or JSON with --json) and the totals; fetch nothing'
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l no-resume -d 'Discard what an earlier, interrupted download of this file left, and start from byte 0'
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -s q -l quiet -d 'Print nothing but errors'
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l json -d 'Print one JSON object per file, then a summary object, on stdout (and nothing else there)'
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -s v -l verbose -d 'Log every request and answer on stderr (tokens and passwords are never shown)'
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -l trust-cache -d 'Put files from the cache in place without hashing them first (faster; a damaged entry is then not noticed)'
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oxdl -n "__fish_oxdl_using_subcommand get" -s V -l version -d 'Print version'
complete -c oxdl -n "__fish_oxdl_using_subcommand batch" -s C -l output-dir -d 'Directory to write the files into (created if missing)' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand batch" -l batch-size -d 'Hashes per request: a failed request costs at most this many files' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand batch" -s j -l jobs -d 'Requests to run at once (each its own stream, decoded on its own thread)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand batch" -l skip-existing -d 'How to tell that a file already present need not be fetched again' -r -f -a "hash\t'Hash the local file with XXH3-128 and compare it with its name'
size\t'Trust a file that is present and not empty (empty only for the empty file\'s hash); no hashing'
never\t'Always fetch'"
complete -c oxdl -n "__fish_oxdl_using_subcommand batch" -l shard -d 'Only the files whose content hash falls in shard K of N (0 <= K < N): N machines given the same list fetch disjoint parts that together make the whole' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand batch" -l host -d 'Server to talk to: HOST[:PORT] or a full base URL' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand batch" -l token -d 'Bearer token for the server (otherwise read from the oxen auth_config.toml)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand batch" -l config-dir -d 'Directory holding the official client\'s auth_config.toml [default: ~/.config/oxen]' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand batch" -l progress -d 'How to show progress: a bar on a terminal (auto), always a bar, plain status lines for CI logs, or none' -r -f -a "auto\t'A bar when stderr is a terminal, nothing otherwise'
bar\t'Always a bar'
plain\t'A status line every few seconds and at the end, without control characters: for CI logs'
none\t'Nothing'"
complete -c oxdl -n "__fish_oxdl_using_subcommand batch" -l proxy -d 'Connect through this proxy (otherwise HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, unless NO_PROXY names the host)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand batch" -l cacert -d 'Also trust the certificate authorities in this PEM file (for a private or corporate CA)' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand batch" -l checksums -d 'Write a `sha256sum -c` manifest of the files in place (paths relative to the output directory)' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand batch" -l retries -d 'How often to retry a failed request (connection errors, timeouts, cut-off bodies, 408, 429, 5xx)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand batch" -l connect-timeout -d 'Seconds allowed for establishing a connection' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand batch" -l timeout -d 'Seconds without any data from the server before a transfer counts as failed (no limit on total time)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand batch" -l cache-dir -d 'Keep every file downloaded in this content-addressed cache, and put files the cache holds in place from it instead of downloading them (get, batch, get -r). Shared by every run, output directory and repository; safe for runs at the same time. OXDL_CACHE_DIR set but empty means none' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand batch" -l link -d 'How files from the cache are put in place: reflink (a copy-on-write clone where the filesystem can, else a copy), copy, or hard (hard links: no extra space, but outputs and cache entries are the same read-only files, so editing one after chmod edits the other)' -r -f -a "reflink\t'A copy-on-write clone (FICLONE on Linux) where the filesystem supports it, else a copy'
copy\t'Always a copy of the bytes'
hard\t'A hard link to the cache entry (a copy across filesystems)'"
complete -c oxdl -n "__fish_oxdl_using_subcommand batch" -s 0 -l null -d 'Read NUL-separated entries (`HASH PATH\\0`, as `oxdl ls -0` writes), each PATH taken literally'
complete -c oxdl -n "__fish_oxdl_using_subcommand batch" -l dry-run -d 'Print what would be fetched (HASH PATH SIZE, or JSON with --json) and the totals; fetch nothing'
complete -c oxdl -n "__fish_oxdl_using_subcommand batch" -s q -l quiet -d 'Print nothing but errors'
complete -c oxdl -n "__fish_oxdl_using_subcommand batch" -l json -d 'Print one JSON object per file, then a summary object, on stdout (and nothing else there)'
complete -c oxdl -n "__fish_oxdl_using_subcommand batch" -s v -l verbose -d 'Log every request and answer on stderr (tokens and passwords are never shown)'
complete -c oxdl -n "__fish_oxdl_using_subcommand batch" -l trust-cache -d 'Put files from the cache in place without hashing them first (faster; a damaged entry is then not noticed)'
complete -c oxdl -n "__fish_oxdl_using_subcommand batch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oxdl -n "__fish_oxdl_using_subcommand batch" -s V -l version -d 'Print version'
complete -c oxdl -n "__fish_oxdl_using_subcommand ls" -l include -d 'Only files matching PATTERN, by the rules of .gitignore: \'*.bin\' is every .bin file at any depth. Repeatable: a file matching any is kept' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand ls" -l exclude -d 'Leave out files matching PATTERN, or below a directory matching it (the rules of --include); beats --include. Repeatable' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand ls" -l host -d 'Server to talk to: HOST[:PORT] or a full base URL' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand ls" -l token -d 'Bearer token for the server (otherwise read from the oxen auth_config.toml)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand ls" -l config-dir -d 'Directory holding the official client\'s auth_config.toml [default: ~/.config/oxen]' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand ls" -l progress -d 'How to show progress: a bar on a terminal (auto), always a bar, plain status lines for CI logs, or none' -r -f -a "auto\t'A bar when stderr is a terminal, nothing otherwise'
bar\t'Always a bar'
plain\t'A status line every few seconds and at the end, without control characters: for CI logs'
none\t'Nothing'"
complete -c oxdl -n "__fish_oxdl_using_subcommand ls" -l proxy -d 'Connect through this proxy (otherwise HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, unless NO_PROXY names the host)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand ls" -l cacert -d 'Also trust the certificate authorities in this PEM file (for a private or corporate CA)' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand ls" -l checksums -d 'Write a `sha256sum -c` manifest of the files in place (paths relative to the output directory)' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand ls" -l retries -d 'How often to retry a failed request (connection errors, timeouts, cut-off bodies, 408, 429, 5xx)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand ls" -l connect-timeout -d 'Seconds allowed for establishing a connection' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand ls" -l timeout -d 'Seconds without any data from the server before a transfer counts as failed (no limit on total time)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand ls" -l cache-dir -d 'Keep every file downloaded in this content-addressed cache, and put files the cache holds in place from it instead of downloading them (get, batch, get -r). Shared by every run, output directory and repository; safe for runs at the same time. OXDL_CACHE_DIR set but empty means none' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand ls" -l link -d 'How files from the cache are put in place: reflink (a copy-on-write clone where the filesystem can, else a copy), copy, or hard (hard links: no extra space, but outputs and cache entries are the same read-only files, so editing one after chmod edits the other)' -r -f -a "reflink\t'A copy-on-write clone (FICLONE on Linux) where the filesystem supports it, else a copy'
copy\t'Always a copy of the bytes'
hard\t'A hard link to the cache entry (a copy across filesystems)'"
complete -c oxdl -n "__fish_oxdl_using_subcommand ls" -s r -l recursive -d 'List the files of subdirectories too'
complete -c oxdl -n "__fish_oxdl_using_subcommand ls" -s l -l long -d 'For people: size, hash and path, and the directories'
complete -c oxdl -n "__fish_oxdl_using_subcommand ls" -s 0 -l null -d 'End each entry with NUL instead of a newline and write names as they are, unquoted (for `batch -0`)'
complete -c oxdl -n "__fish_oxdl_using_subcommand ls" -s q -l quiet -d 'Print nothing but errors'
complete -c oxdl -n "__fish_oxdl_using_subcommand ls" -l json -d 'Print one JSON object per file, then a summary object, on stdout (and nothing else there)'
complete -c oxdl -n "__fish_oxdl_using_subcommand ls" -s v -l verbose -d 'Log every request and answer on stderr (tokens and passwords are never shown)'
complete -c oxdl -n "__fish_oxdl_using_subcommand ls" -l trust-cache -d 'Put files from the cache in place without hashing them first (faster; a damaged entry is then not noticed)'
complete -c oxdl -n "__fish_oxdl_using_subcommand ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oxdl -n "__fish_oxdl_using_subcommand ls" -s V -l version -d 'Print version'
complete -c oxdl -n "__fish_oxdl_using_subcommand verify" -s C -l dir -l output-dir -d 'Directory holding the files (the PATHs of the list are relative to it)' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand verify" -s j -l jobs -d 'Files to hash at once [default: the number of CPUs]' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand verify" -l host -d 'Server to talk to: HOST[:PORT] or a full base URL' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand verify" -l token -d 'Bearer token for the server (otherwise read from the oxen auth_config.toml)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand verify" -l config-dir -d 'Directory holding the official client\'s auth_config.toml [default: ~/.config/oxen]' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand verify" -l progress -d 'How to show progress: a bar on a terminal (auto), always a bar, plain status lines for CI logs, or none' -r -f -a "auto\t'A bar when stderr is a terminal, nothing otherwise'
bar\t'Always a bar'
plain\t'A status line every few seconds and at the end, without control characters: for CI logs'
none\t'Nothing'"
complete -c oxdl -n "__fish_oxdl_using_subcommand verify" -l proxy -d 'Connect through this proxy (otherwise HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, unless NO_PROXY names the host)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand verify" -l cacert -d 'Also trust the certificate authorities in this PEM file (for a private or corporate CA)' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand verify" -l checksums -d 'Write a `sha256sum -c` manifest of the files in place (paths relative to the output directory)' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand verify" -l retries -d 'How often to retry a failed request (connection errors, timeouts, cut-off bodies, 408, 429, 5xx)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand verify" -l connect-timeout -d 'Seconds allowed for establishing a connection' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand verify" -l timeout -d 'Seconds without any data from the server before a transfer counts as failed (no limit on total time)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand verify" -l cache-dir -d 'Keep every file downloaded in this content-addressed cache, and put files the cache holds in place from it instead of downloading them (get, batch, get -r). Shared by every run, output directory and repository; safe for runs at the same time. OXDL_CACHE_DIR set but empty means none' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand verify" -l link -d 'How files from the cache are put in place: reflink (a copy-on-write clone where the filesystem can, else a copy), copy, or hard (hard links: no extra space, but outputs and cache entries are the same read-only files, so editing one after chmod edits the other)' -r -f -a "reflink\t'A copy-on-write clone (FICLONE on Linux) where the filesystem supports it, else a copy'
copy\t'Always a copy of the bytes'
hard\t'A hard link to the cache entry (a copy across filesystems)'"
complete -c oxdl -n "__fish_oxdl_using_subcommand verify" -s 0 -l null -d 'Read NUL-separated entries (`HASH PATH\\0`, as `oxdl ls -0` writes), each PATH taken literally'
complete -c oxdl -n "__fish_oxdl_using_subcommand verify" -s q -l quiet -d 'Print nothing but errors'
complete -c oxdl -n "__fish_oxdl_using_subcommand verify" -l json -d 'Print one JSON object per file, then a summary object, on stdout (and nothing else there)'
complete -c oxdl -n "__fish_oxdl_using_subcommand verify" -s v -l verbose -d 'Log every request and answer on stderr (tokens and passwords are never shown)'
complete -c oxdl -n "__fish_oxdl_using_subcommand verify" -l trust-cache -d 'Put files from the cache in place without hashing them first (faster; a damaged entry is then not noticed)'
complete -c oxdl -n "__fish_oxdl_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oxdl -n "__fish_oxdl_using_subcommand verify" -s V -l version -d 'Print version'
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and not __fish_seen_subcommand_from info prune help" -l host -d 'Server to talk to: HOST[:PORT] or a full base URL' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and not __fish_seen_subcommand_from info prune help" -l token -d 'Bearer token for the server (otherwise read from the oxen auth_config.toml)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and not __fish_seen_subcommand_from info prune help" -l config-dir -d 'Directory holding the official client\'s auth_config.toml [default: ~/.config/oxen]' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and not __fish_seen_subcommand_from info prune help" -l progress -d 'How to show progress: a bar on a terminal (auto), always a bar, plain status lines for CI logs, or none' -r -f -a "auto\t'A bar when stderr is a terminal, nothing otherwise'
bar\t'Always a bar'
plain\t'A status line every few seconds and at the end, without control characters: for CI logs'
none\t'Nothing'"
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and not __fish_seen_subcommand_from info prune help" -l proxy -d 'Connect through this proxy (otherwise HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, unless NO_PROXY names the host)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and not __fish_seen_subcommand_from info prune help" -l cacert -d 'Also trust the certificate authorities in this PEM file (for a private or corporate CA)' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and not __fish_seen_subcommand_from info prune help" -l checksums -d 'Write a `sha256sum -c` manifest of the files in place (paths relative to the output directory)' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and not __fish_seen_subcommand_from info prune help" -l retries -d 'How often to retry a failed request (connection errors, timeouts, cut-off bodies, 408, 429, 5xx)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and not __fish_seen_subcommand_from info prune help" -l connect-timeout -d 'Seconds allowed for establishing a connection' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and not __fish_seen_subcommand_from info prune help" -l timeout -d 'Seconds without any data from the server before a transfer counts as failed (no limit on total time)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and not __fish_seen_subcommand_from info prune help" -l cache-dir -d 'Keep every file downloaded in this content-addressed cache, and put files the cache holds in place from it instead of downloading them (get, batch, get -r). Shared by every run, output directory and repository; safe for runs at the same time. OXDL_CACHE_DIR set but empty means none' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and not __fish_seen_subcommand_from info prune help" -l link -d 'How files from the cache are put in place: reflink (a copy-on-write clone where the filesystem can, else a copy), copy, or hard (hard links: no extra space, but outputs and cache entries are the same read-only files, so editing one after chmod edits the other)' -r -f -a "reflink\t'A copy-on-write clone (FICLONE on Linux) where the filesystem supports it, else a copy'
copy\t'Always a copy of the bytes'
hard\t'A hard link to the cache entry (a copy across filesystems)'"
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and not __fish_seen_subcommand_from info prune help" -s q -l quiet -d 'Print nothing but errors'
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and not __fish_seen_subcommand_from info prune help" -l json -d 'Print one JSON object per file, then a summary object, on stdout (and nothing else there)'
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and not __fish_seen_subcommand_from info prune help" -s v -l verbose -d 'Log every request and answer on stderr (tokens and passwords are never shown)'
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and not __fish_seen_subcommand_from info prune help" -l trust-cache -d 'Put files from the cache in place without hashing them first (faster; a damaged entry is then not noticed)'
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and not __fish_seen_subcommand_from info prune help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and not __fish_seen_subcommand_from info prune help" -s V -l version -d 'Print version'
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and not __fish_seen_subcommand_from info prune help" -f -a "info" -d 'Print how many files the cache holds and their bytes'
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and not __fish_seen_subcommand_from info prune help" -f -a "prune" -d 'Evict the least recently used files until the cache holds at most SIZE'
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and not __fish_seen_subcommand_from info prune help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from info" -l host -d 'Server to talk to: HOST[:PORT] or a full base URL' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from info" -l token -d 'Bearer token for the server (otherwise read from the oxen auth_config.toml)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from info" -l config-dir -d 'Directory holding the official client\'s auth_config.toml [default: ~/.config/oxen]' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from info" -l progress -d 'How to show progress: a bar on a terminal (auto), always a bar, plain status lines for CI logs, or none' -r -f -a "auto\t'A bar when stderr is a terminal, nothing otherwise'
bar\t'Always a bar'
plain\t'A status line every few seconds and at the end, without control characters: for CI logs'
none\t'Nothing'"
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from info" -l proxy -d 'Connect through this proxy (otherwise HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, unless NO_PROXY names the host)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from info" -l cacert -d 'Also trust the certificate authorities in this PEM file (for a private or corporate CA)' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from info" -l checksums -d 'Write a `sha256sum -c` manifest of the files in place (paths relative to the output directory)' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from info" -l retries -d 'How often to retry a failed request (connection errors, timeouts, cut-off bodies, 408, 429, 5xx)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from info" -l connect-timeout -d 'Seconds allowed for establishing a connection' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from info" -l timeout -d 'Seconds without any data from the server before a transfer counts as failed (no limit on total time)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from info" -l cache-dir -d 'Keep every file downloaded in this content-addressed cache, and put files the cache holds in place from it instead of downloading them (get, batch, get -r). Shared by every run, output directory and repository; safe for runs at the same time. OXDL_CACHE_DIR set but empty means none' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from info" -l link -d 'How files from the cache are put in place: reflink (a copy-on-write clone where the filesystem can, else a copy), copy, or hard (hard links: no extra space, but outputs and cache entries are the same read-only files, so editing one after chmod edits the other)' -r -f -a "reflink\t'A copy-on-write clone (FICLONE on Linux) where the filesystem supports it, else a copy'
copy\t'Always a copy of the bytes'
hard\t'A hard link to the cache entry (a copy across filesystems)'"
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from info" -s q -l quiet -d 'Print nothing but errors'
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from info" -l json -d 'Print one JSON object per file, then a summary object, on stdout (and nothing else there)'
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from info" -s v -l verbose -d 'Log every request and answer on stderr (tokens and passwords are never shown)'
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from info" -l trust-cache -d 'Put files from the cache in place without hashing them first (faster; a damaged entry is then not noticed)'
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from info" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from info" -s V -l version -d 'Print version'
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from prune" -l max-size -d 'The most the cache may hold afterwards: bytes, or a number with K, M, G or T (powers of 1024), e.g. 500M, 10G, 1.5T' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from prune" -l host -d 'Server to talk to: HOST[:PORT] or a full base URL' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from prune" -l token -d 'Bearer token for the server (otherwise read from the oxen auth_config.toml)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from prune" -l config-dir -d 'Directory holding the official client\'s auth_config.toml [default: ~/.config/oxen]' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from prune" -l progress -d 'How to show progress: a bar on a terminal (auto), always a bar, plain status lines for CI logs, or none' -r -f -a "auto\t'A bar when stderr is a terminal, nothing otherwise'
bar\t'Always a bar'
plain\t'A status line every few seconds and at the end, without control characters: for CI logs'
none\t'Nothing'"
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from prune" -l proxy -d 'Connect through this proxy (otherwise HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, unless NO_PROXY names the host)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from prune" -l cacert -d 'Also trust the certificate authorities in this PEM file (for a private or corporate CA)' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from prune" -l checksums -d 'Write a `sha256sum -c` manifest of the files in place (paths relative to the output directory)' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from prune" -l retries -d 'How often to retry a failed request (connection errors, timeouts, cut-off bodies, 408, 429, 5xx)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from prune" -l connect-timeout -d 'Seconds allowed for establishing a connection' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from prune" -l timeout -d 'Seconds without any data from the server before a transfer counts as failed (no limit on total time)' -r
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from prune" -l cache-dir -d 'Keep every file downloaded in this content-addressed cache, and put files the cache holds in place from it instead of downloading them (get, batch, get -r). Shared by every run, output directory and repository; safe for runs at the same time. OXDL_CACHE_DIR set but empty means none' -r -F
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from prune" -l link -d 'How files from the cache are put in place: reflink (a copy-on-write clone where the filesystem can, else a copy), copy, or hard (hard links: no extra space, but outputs and cache entries are the same read-only files, so editing one after chmod edits the other)' -r -f -a "reflink\t'A copy-on-write clone (FICLONE on Linux) where the filesystem supports it, else a copy'
copy\t'Always a copy of the bytes'
hard\t'A hard link to the cache entry (a copy across filesystems)'"
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from prune" -s q -l quiet -d 'Print nothing but errors'
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from prune" -l json -d 'Print one JSON object per file, then a summary object, on stdout (and nothing else there)'
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from prune" -s v -l verbose -d 'Log every request and answer on stderr (tokens and passwords are never shown)'
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from prune" -l trust-cache -d 'Put files from the cache in place without hashing them first (faster; a damaged entry is then not noticed)'
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from prune" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from prune" -s V -l version -d 'Print version'
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "info" -d 'Print how many files the cache holds and their bytes'
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "prune" -d 'Evict the least recently used files until the cache holds at most SIZE'
complete -c oxdl -n "__fish_oxdl_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c oxdl -n "__fish_oxdl_using_subcommand help; and not __fish_seen_subcommand_from get batch ls verify cache help" -f -a "get" -d 'Download one file by its path at a revision, or a directory tree with -r'
complete -c oxdl -n "__fish_oxdl_using_subcommand help; and not __fish_seen_subcommand_from get batch ls verify cache help" -f -a "batch" -d 'Download many files by content hash'
complete -c oxdl -n "__fish_oxdl_using_subcommand help; and not __fish_seen_subcommand_from get batch ls verify cache help" -f -a "ls" -d 'List files as `HASH PATH` lines, the list `oxdl batch` reads'
complete -c oxdl -n "__fish_oxdl_using_subcommand help; and not __fish_seen_subcommand_from get batch ls verify cache help" -f -a "verify" -d 'Check files on disk against a hash list, offline: no server, no token'
complete -c oxdl -n "__fish_oxdl_using_subcommand help; and not __fish_seen_subcommand_from get batch ls verify cache help" -f -a "cache" -d 'Look after the cache of --cache-dir: its size, and evicting what was used least recently'
complete -c oxdl -n "__fish_oxdl_using_subcommand help; and not __fish_seen_subcommand_from get batch ls verify cache help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c oxdl -n "__fish_oxdl_using_subcommand help; and __fish_seen_subcommand_from cache" -f -a "info" -d 'Print how many files the cache holds and their bytes'
complete -c oxdl -n "__fish_oxdl_using_subcommand help; and __fish_seen_subcommand_from cache" -f -a "prune" -d 'Evict the least recently used files until the cache holds at most SIZE'
