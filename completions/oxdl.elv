
use builtin;
use str;

set edit:completion:arg-completer[oxdl] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'oxdl'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'oxdl'= {
            cand --host 'Server to talk to: HOST[:PORT] or a full base URL'
            cand --token 'Bearer token for the server (otherwise read from the oxen auth_config.toml)'
            cand --config-dir 'Directory holding the official client''s auth_config.toml [default: ~/.config/oxen]'
            cand --progress 'How to show progress: a bar on a terminal (auto), always a bar, plain status lines for CI logs, or none'
            cand --proxy 'Connect through this proxy (otherwise HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, unless NO_PROXY names the host)'
            cand --cacert 'Also trust the certificate authorities in this PEM file (for a private or corporate CA)'
            cand --checksums 'Write a `sha256sum -c` manifest of the files in place (paths relative to the output directory)'
            cand --retries 'How often to retry a failed request (connection errors, timeouts, cut-off bodies, 408, 429, 5xx)'
            cand --connect-timeout 'Seconds allowed for establishing a connection'
            cand --timeout 'Seconds without any data from the server before a transfer counts as failed (no limit on total time)'
            cand --cache-dir 'Keep every file downloaded in this content-addressed cache, and put files the cache holds in place from it instead of downloading them (get, batch, get -r). Shared by every run, output directory and repository; safe for runs at the same time. OXDL_CACHE_DIR set but empty means none'
            cand --link 'How files from the cache are put in place: reflink (a copy-on-write clone where the filesystem can, else a copy), copy, or hard (hard links: no extra space, but outputs and cache entries are the same read-only files, so editing one after chmod edits the other)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --json 'Print one JSON object per file, then a summary object, on stdout (and nothing else there)'
            cand -v 'Log every request and answer on stderr (tokens and passwords are never shown)'
            cand --verbose 'Log every request and answer on stderr (tokens and passwords are never shown)'
            cand --trust-cache 'Put files from the cache in place without hashing them first (faster; a damaged entry is then not noticed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand get 'Download one file by its path at a revision, or a directory tree with -r'
            cand batch 'Download many files by content hash'
            cand ls 'List files as `HASH PATH` lines, the list `oxdl batch` reads'
            cand verify 'Check files on disk against a hash list, offline: no server, no token'
            cand cache 'Look after the cache of --cache-dir: its size, and evicting what was used least recently'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'oxdl;get'= {
            cand -o 'Where to write the file: a path, an existing directory, or - for stdout [default: the file''s name]. With -r, the directory to write the tree into [default: the directory''s name, or the repository''s for a whole revision]'
            cand --output 'Where to write the file: a path, an existing directory, or - for stdout [default: the file''s name]. With -r, the directory to write the tree into [default: the directory''s name, or the repository''s for a whole revision]'
            cand --width 'Resize an image to this width (alone: fit inside a WIDTH x WIDTH box)'
            cand --height 'Resize an image to this height (alone: fit inside a HEIGHT x HEIGHT box)'
            cand --include 'Only files matching PATTERN, by the rules of .gitignore: ''*.bin'' is every .bin file at any depth. Repeatable: a file matching any is kept'
            cand --exclude 'Leave out files matching PATTERN, or below a directory matching it (the rules of --include); beats --include. Repeatable'
            cand --batch-size 'With -r: hashes per request [default: 1000]'
            cand -j 'With -r: requests to run at once [default: 4]'
            cand --jobs 'With -r: requests to run at once [default: 4]'
            cand --skip-existing 'With -r: how to tell that a file already present need not be fetched again [default: hash]'
            cand --shard 'With -r: only the files whose content hash falls in shard K of N (see `oxdl batch --help`)'
            cand --chunk-threshold 'Files at least this large (K, M, G: KiB, MiB, GiB) are fetched in parallel ranges through the server''s /chunk route, resumable across runs; smaller ones in one stream (with -r: in batch requests) [default: 16M; for a server on this machine (localhost, loopback), off: one stream is faster there]'
            cand --chunk-size 'Size of each range of a ranged download (the last one is shorter)'
            cand --connections 'Ranges fetched at once, each over its own connection. With -r, one budget for the whole run: at most the larger of -j and --connections connections at once, a batch request taking one and a large file as many as are free'
            cand --host 'Server to talk to: HOST[:PORT] or a full base URL'
            cand --token 'Bearer token for the server (otherwise read from the oxen auth_config.toml)'
            cand --config-dir 'Directory holding the official client''s auth_config.toml [default: ~/.config/oxen]'
            cand --progress 'How to show progress: a bar on a terminal (auto), always a bar, plain status lines for CI logs, or none'
            cand --proxy 'Connect through this proxy (otherwise HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, unless NO_PROXY names the host)'
            cand --cacert 'Also trust the certificate authorities in this PEM file (for a private or corporate CA)'
            cand --checksums 'Write a `sha256sum -c` manifest of the files in place (paths relative to the output directory)'
            cand --retries 'How often to retry a failed request (connection errors, timeouts, cut-off bodies, 408, 429, 5xx)'
            cand --connect-timeout 'Seconds allowed for establishing a connection'
            cand --timeout 'Seconds without any data from the server before a transfer counts as failed (no limit on total time)'
            cand --cache-dir 'Keep every file downloaded in this content-addressed cache, and put files the cache holds in place from it instead of downloading them (get, batch, get -r). Shared by every run, output directory and repository; safe for runs at the same time. OXDL_CACHE_DIR set but empty means none'
            cand --link 'How files from the cache are put in place: reflink (a copy-on-write clone where the filesystem can, else a copy), copy, or hard (hard links: no extra space, but outputs and cache entries are the same read-only files, so editing one after chmod edits the other)'
            cand --no-verify 'Skip checking the bytes against the content hash and size in the server''s metadata'
            cand -r 'Download the tree under REVISION/PATH into a directory (REVISION alone: the whole revision)'
            cand --recursive 'Download the tree under REVISION/PATH into a directory (REVISION alone: the whole revision)'
            cand --dry-run 'With -r: print what would be fetched (HASH PATH SIZE, or JSON with --json) and the totals; fetch nothing'
            cand --no-resume 'Discard what an earlier, interrupted download of this file left, and start from byte 0'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --json 'Print one JSON object per file, then a summary object, on stdout (and nothing else there)'
            cand -v 'Log every request and answer on stderr (tokens and passwords are never shown)'
            cand --verbose 'Log every request and answer on stderr (tokens and passwords are never shown)'
            cand --trust-cache 'Put files from the cache in place without hashing them first (faster; a damaged entry is then not noticed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'oxdl;batch'= {
            cand -C 'Directory to write the files into (created if missing)'
            cand --output-dir 'Directory to write the files into (created if missing)'
            cand --batch-size 'Hashes per request: a failed request costs at most this many files'
            cand -j 'Requests to run at once (each its own stream, decoded on its own thread)'
            cand --jobs 'Requests to run at once (each its own stream, decoded on its own thread)'
            cand --skip-existing 'How to tell that a file already present need not be fetched again'
            cand --shard 'Only the files whose content hash falls in shard K of N (0 <= K < N): N machines given the same list fetch disjoint parts that together make the whole'
            cand --host 'Server to talk to: HOST[:PORT] or a full base URL'
            cand --token 'Bearer token for the server (otherwise read from the oxen auth_config.toml)'
            cand --config-dir 'Directory holding the official client''s auth_config.toml [default: ~/.config/oxen]'
            cand --progress 'How to show progress: a bar on a terminal (auto), always a bar, plain status lines for CI logs, or none'
            cand --proxy 'Connect through this proxy (otherwise HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, unless NO_PROXY names the host)'
            cand --cacert 'Also trust the certificate authorities in this PEM file (for a private or corporate CA)'
            cand --checksums 'Write a `sha256sum -c` manifest of the files in place (paths relative to the output directory)'
            cand --retries 'How often to retry a failed request (connection errors, timeouts, cut-off bodies, 408, 429, 5xx)'
            cand --connect-timeout 'Seconds allowed for establishing a connection'
            cand --timeout 'Seconds without any data from the server before a transfer counts as failed (no limit on total time)'
            cand --cache-dir 'Keep every file downloaded in this content-addressed cache, and put files the cache holds in place from it instead of downloading them (get, batch, get -r). Shared by every run, output directory and repository; safe for runs at the same time. OXDL_CACHE_DIR set but empty means none'
            cand --link 'How files from the cache are put in place: reflink (a copy-on-write clone where the filesystem can, else a copy), copy, or hard (hard links: no extra space, but outputs and cache entries are the same read-only files, so editing one after chmod edits the other)'
            cand -0 'Read NUL-separated entries (`HASH PATH\0`, as `oxdl ls -0` writes), each PATH taken literally'
            cand --null 'Read NUL-separated entries (`HASH PATH\0`, as `oxdl ls -0` writes), each PATH taken literally'
            cand --dry-run 'Print what would be fetched (HASH PATH SIZE, or JSON with --json) and the totals; fetch nothing'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --json 'Print one JSON object per file, then a summary object, on stdout (and nothing else there)'
            cand -v 'Log every request and answer on stderr (tokens and passwords are never shown)'
            cand --verbose 'Log every request and answer on stderr (tokens and passwords are never shown)'
            cand --trust-cache 'Put files from the cache in place without hashing them first (faster; a damaged entry is then not noticed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'oxdl;ls'= {
            cand --include 'Only files matching PATTERN, by the rules of .gitignore: ''*.bin'' is every .bin file at any depth. Repeatable: a file matching any is kept'
            cand --exclude 'Leave out files matching PATTERN, or below a directory matching it (the rules of --include); beats --include. Repeatable'
            cand --host 'Server to talk to: HOST[:PORT] or a full base URL'
            cand --token 'Bearer token for the server (otherwise read from the oxen auth_config.toml)'
            cand --config-dir 'Directory holding the official client''s auth_config.toml [default: ~/.config/oxen]'
            cand --progress 'How to show progress: a bar on a terminal (auto), always a bar, plain status lines for CI logs, or none'
            cand --proxy 'Connect through this proxy (otherwise HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, unless NO_PROXY names the host)'
            cand --cacert 'Also trust the certificate authorities in this PEM file (for a private or corporate CA)'
            cand --checksums 'Write a `sha256sum -c` manifest of the files in place (paths relative to the output directory)'
            cand --retries 'How often to retry a failed request (connection errors, timeouts, cut-off bodies, 408, 429, 5xx)'
            cand --connect-timeout 'Seconds allowed for establishing a connection'
            cand --timeout 'Seconds without any data from the server before a transfer counts as failed (no limit on total time)'
            cand --cache-dir 'Keep every file downloaded in this content-addressed cache, and put files the cache holds in place from it instead of downloading them (get, batch, get -r). Shared by every run, output directory and repository; safe for runs at the same time. OXDL_CACHE_DIR set but empty means none'
            cand --link 'How files from the cache are put in place: reflink (a copy-on-write clone where the filesystem can, else a copy), copy, or hard (hard links: no extra space, but outputs and cache entries are the same read-only files, so editing one after chmod edits the other)'
            cand -r 'List the files of subdirectories too'
            cand --recursive 'List the files of subdirectories too'
            cand -l 'For people: size, hash and path, and the directories'
            cand --long 'For people: size, hash and path, and the directories'
            cand -0 'End each entry with NUL instead of a newline and write names as they are, unquoted (for `batch -0`)'
            cand --null 'End each entry with NUL instead of a newline and write names as they are, unquoted (for `batch -0`)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --json 'Print one JSON object per file, then a summary object, on stdout (and nothing else there)'
            cand -v 'Log every request and answer on stderr (tokens and passwords are never shown)'
            cand --verbose 'Log every request and answer on stderr (tokens and passwords are never shown)'
            cand --trust-cache 'Put files from the cache in place without hashing them first (faster; a damaged entry is then not noticed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'oxdl;verify'= {
            cand -C 'Directory holding the files (the PATHs of the list are relative to it)'
            cand --dir 'Directory holding the files (the PATHs of the list are relative to it)'
            cand --output-dir 'Directory holding the files (the PATHs of the list are relative to it)'
            cand -j 'Files to hash at once [default: the number of CPUs]'
            cand --jobs 'Files to hash at once [default: the number of CPUs]'
            cand --host 'Server to talk to: HOST[:PORT] or a full base URL'
            cand --token 'Bearer token for the server (otherwise read from the oxen auth_config.toml)'
            cand --config-dir 'Directory holding the official client''s auth_config.toml [default: ~/.config/oxen]'
            cand --progress 'How to show progress: a bar on a terminal (auto), always a bar, plain status lines for CI logs, or none'
            cand --proxy 'Connect through this proxy (otherwise HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, unless NO_PROXY names the host)'
            cand --cacert 'Also trust the certificate authorities in this PEM file (for a private or corporate CA)'
            cand --checksums 'Write a `sha256sum -c` manifest of the files in place (paths relative to the output directory)'
            cand --retries 'How often to retry a failed request (connection errors, timeouts, cut-off bodies, 408, 429, 5xx)'
            cand --connect-timeout 'Seconds allowed for establishing a connection'
            cand --timeout 'Seconds without any data from the server before a transfer counts as failed (no limit on total time)'
            cand --cache-dir 'Keep every file downloaded in this content-addressed cache, and put files the cache holds in place from it instead of downloading them (get, batch, get -r). Shared by every run, output directory and repository; safe for runs at the same time. OXDL_CACHE_DIR set but empty means none'
            cand --link 'How files from the cache are put in place: reflink (a copy-on-write clone where the filesystem can, else a copy), copy, or hard (hard links: no extra space, but outputs and cache entries are the same read-only files, so editing one after chmod edits the other)'
            cand -0 'Read NUL-separated entries (`HASH PATH\0`, as `oxdl ls -0` writes), each PATH taken literally'
            cand --null 'Read NUL-separated entries (`HASH PATH\0`, as `oxdl ls -0` writes), each PATH taken literally'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --json 'Print one JSON object per file, then a summary object, on stdout (and nothing else there)'
            cand -v 'Log every request and answer on stderr (tokens and passwords are never shown)'
            cand --verbose 'Log every request and answer on stderr (tokens and passwords are never shown)'
            cand --trust-cache 'Put files from the cache in place without hashing them first (faster; a damaged entry is then not noticed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'oxdl;cache'= {
            cand --host 'Server to talk to: HOST[:PORT] or a full base URL'
            cand --token 'Bearer token for the server (otherwise read from the oxen auth_config.toml)'
            cand --config-dir 'Directory holding the official client''s auth_config.toml [default: ~/.config/oxen]'
            cand --progress 'How to show progress: a bar on a terminal (auto), always a bar, plain status lines for CI logs, or none'
            cand --proxy 'Connect through this proxy (otherwise HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, unless NO_PROXY names the host)'
            cand --cacert 'Also trust the certificate authorities in this PEM file (for a private or corporate CA)'
            cand --checksums 'Write a `sha256sum -c` manifest of the files in place (paths relative to the output directory)'
            cand --retries 'How often to retry a failed request (connection errors, timeouts, cut-off bodies, 408, 429, 5xx)'
            cand --connect-timeout 'Seconds allowed for establishing a connection'
            cand --timeout 'Seconds without any data from the server before a transfer counts as failed (no limit on total time)'
            cand --cache-dir 'Keep every file downloaded in this content-addressed cache, and put files the cache holds in place from it instead of downloading them (get, batch, get -r). Shared by every run, output directory and repository; safe for runs at the same time. OXDL_CACHE_DIR set but empty means none'
            cand --link 'How files from the cache are put in place: reflink (a copy-on-write clone where the filesystem can, else a copy), copy, or hard (hard links: no extra space, but outputs and cache entries are the same read-only files, so editing one after chmod edits the other)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --json 'Print one JSON object per file, then a summary object, on stdout (and nothing else there)'
            cand -v 'Log every request and answer on stderr (tokens and passwords are never shown)'
            cand --verbose 'Log every request and answer on stderr (tokens and passwords are never shown)'
            cand --trust-cache 'Put files from the cache in place without hashing them first (faster; a damaged entry is then not noticed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand info 'Print how many files the cache holds and their bytes'
            cand prune 'Evict the least recently used files until the cache holds at most SIZE'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'oxdl;cache;info'= {
            cand --host 'Server to talk to: HOST[:PORT] or a full base URL'
            cand --token 'Bearer token for the server (otherwise read from the oxen auth_config.toml)'
            cand --config-dir 'Directory holding the official client''s auth_config.toml [default: ~/.config/oxen]'
            cand --progress 'How to show progress: a bar on a terminal (auto), always a bar, plain status lines for CI logs, or none'
            cand --proxy 'Connect through this proxy (otherwise HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, unless NO_PROXY names the host)'
            cand --cacert 'Also trust the certificate authorities in this PEM file (for a private or corporate CA)'
            cand --checksums 'Write a `sha256sum -c` manifest of the files in place (paths relative to the output directory)'
            cand --retries 'How often to retry a failed request (connection errors, timeouts, cut-off bodies, 408, 429, 5xx)'
            cand --connect-timeout 'Seconds allowed for establishing a connection'
            cand --timeout 'Seconds without any data from the server before a transfer counts as failed (no limit on total time)'
            cand --cache-dir 'Keep every file downloaded in this content-addressed cache, and put files the cache holds in place from it instead of downloading them (get, batch, get -r). Shared by every run, output directory and repository; safe for runs at the same time. OXDL_CACHE_DIR set but empty means none'
            cand --link 'How files from the cache are put in place: reflink (a copy-on-write clone where the filesystem can, else a copy), copy, or hard (hard links: no extra space, but outputs and cache entries are the same read-only files, so editing one after chmod edits the other)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --json 'Print one JSON object per file, then a summary object, on stdout (and nothing else there)'
            cand -v 'Log every request and answer on stderr (tokens and passwords are never shown)'
            cand --verbose 'Log every request and answer on stderr (tokens and passwords are never shown)'
            cand --trust-cache 'Put files from the cache in place without hashing them first (faster; a damaged entry is then not noticed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'oxdl;cache;prune'= {
            cand --max-size 'The most the cache may hold afterwards: bytes, or a number with K, M, G or T (powers of 1024), e.g. 500M, 10G, 1.5T'
            cand --host 'Server to talk to: HOST[:PORT] or a full base URL'
            cand --token 'Bearer token for the server (otherwise read from the oxen auth_config.toml)'
            cand --config-dir 'Directory holding the official client''s auth_config.toml [default: ~/.config/oxen]'
            cand --progress 'How to show progress: a bar on a terminal (auto), always a bar, plain status lines for CI logs, or none'
            cand --proxy 'Connect through this proxy (otherwise HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, unless NO_PROXY names the host)'
            cand --cacert 'Also trust the certificate authorities in this PEM file (for a private or corporate CA)'
            cand --checksums 'Write a `sha256sum -c` manifest of the files in place (paths relative to the output directory)'
            cand --retries 'How often to retry a failed request (connection errors, timeouts, cut-off bodies, 408, 429, 5xx)'
            cand --connect-timeout 'Seconds allowed for establishing a connection'
            cand --timeout 'Seconds without any data from the server before a transfer counts as failed (no limit on total time)'
            cand --cache-dir 'Keep every file downloaded in this content-addressed cache, and put files the cache holds in place from it instead of downloading them (get, batch, get -r). Shared by every run, output directory and repository; safe for runs at the same time. OXDL_CACHE_DIR set but empty means none'
            cand --link 'How files from the cache are put in place: reflink (a copy-on-write clone where the filesystem can, else a copy), copy, or hard (hard links: no extra space, but outputs and cache entries are the same read-only files, so editing one after chmod edits the other)'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --json 'Print one JSON object per file, then a summary object, on stdout (and nothing else there)'
            cand -v 'Log every request and answer on stderr (tokens and passwords are never shown)'
            cand --verbose 'Log every request and answer on stderr (tokens and passwords are never shown)'
            cand --trust-cache 'Put files from the cache in place without hashing them first (faster; a damaged entry is then not noticed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'oxdl;cache;help'= {
            cand info 'Print how many files the cache holds and their bytes'
            cand prune 'Evict the least recently used files until the cache holds at most SIZE'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'oxdl;cache;help;info'= {
        }
        &'oxdl;cache;help;prune'= {
        }
        &'oxdl;cache;help;help'= {
        }
        &'oxdl;help'= {
            cand get 'Download one file by its path at a revision, or a directory tree with -r'
            cand batch 'Download many files by content hash'
            cand ls 'List files as `HASH PATH` lines, the list `oxdl batch` reads'
            cand verify 'Check files on disk against a hash list, offline: no server, no token'
            cand cache 'Look after the cache of --cache-dir: its size, and evicting what was used least recently'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'oxdl;help;get'= {
        }
        &'oxdl;help;batch'= {
        }
        &'oxdl;help;ls'= {
        }
        &'oxdl;help;verify'= {
        }
        &'oxdl;help;cache'= {
            cand info 'Print how many files the cache holds and their bytes'
            cand prune 'Evict the least recently used files until the cache holds at most SIZE'
        }
        &'oxdl;help;cache;info'= {
        }
        &'oxdl;help;cache;prune'= {
        }
        &'oxdl;help;help'= {
        }
    ]
    $completions[$command]
}
