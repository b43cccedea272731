//! `Config::latency`: a new connection's first request waits two round trips (handshake, then the
//! request), a kept-alive connection's requests one each, and concurrent requests wait at the same time.
//! Lower bounds are exact (the server sleeps at least that long); upper bounds leave a whole round trip of
//! slack for a loaded machine.

mod support;

use std::thread;
use std::time::{Duration, Instant};

use oxdl_testserver::Config;
use support::{Conn, start};

const LATENCY: Duration = Duration::from_millis(150);
const HELLO: &str = "/api/repos/ox/demo/versions/main/hello.txt";

fn config() -> Config {
    Config {
        latency: Some(LATENCY),
        ..Config::default()
    }
}

#[test]
fn a_new_connection_costs_two_round_trips_and_a_kept_alive_one_one() {
    let server = start(config());
    let started = Instant::now();
    let mut conn = Conn::open(&server);
    conn.get(HELLO);
    assert_eq!(conn.answer(false).body, b"hello\n");
    let first = started.elapsed();
    assert!(first >= 2 * LATENCY, "first request: {first:?}");

    let started = Instant::now();
    conn.get(HELLO);
    assert_eq!(conn.answer(false).body, b"hello\n");
    let second = started.elapsed();
    assert!(second >= LATENCY, "second request: {second:?}");
    assert!(
        second < 2 * LATENCY,
        "second request: {second:?}, on the same connection"
    );

    let requests = server.requests();
    assert_eq!(
        requests
            .iter()
            .map(|r| (r.connection, r.reused))
            .collect::<Vec<_>>(),
        [(1, false), (1, true)]
    );
}

#[test]
fn concurrent_requests_wait_at_the_same_time() {
    // Two listings and a file at once, each on its own new connection: 2 round trips each, 6 in a row.
    let server = start(config());
    let started = Instant::now();
    let clients: Vec<_> = [
        "/api/repos/ox/demo/dir/main/dir",
        "/api/repos/ox/demo/dir/main",
        HELLO,
    ]
    .into_iter()
    .map(|path| {
        let mut conn = Conn::open(&server);
        thread::spawn(move || {
            conn.get(path);
            conn.answer(false).status
        })
    })
    .collect();
    for client in clients {
        assert_eq!(client.join().unwrap(), 200);
    }
    let took = started.elapsed();
    assert!(took >= 2 * LATENCY, "{took:?}");
    assert!(took < 4 * LATENCY, "{took:?}: not 6 round trips in a row");
    assert_eq!(server.max_in_flight(), 3);
    assert_eq!(server.max_dir_in_flight(), 2);
}
