//! `kv --redis URL --store NAME`: every command on a store in a real redis-server, with the
//! same output and exit statuses as on a file.
#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used)]

#[path = "../../kv-redis/tests/server/mod.rs"]
mod server;

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn kv(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kv"))
        .args(args)
        .env_remove("KV_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Exit status and standard output, as a script sees them.
fn seen(output: &Output) -> (Option<i32>, String) {
    (
        output.status.code(),
        String::from_utf8(output.stdout.clone()).unwrap(),
    )
}

#[test]
fn every_command_prints_and_exits_as_it_does_on_a_file() {
    let server = server::Server::start();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kv.json");
    let file = file.to_str().unwrap();
    let long = "k".repeat(2000);
    let script: &[(&[&str], &str)] = &[
        (&["set", "last_command", "ping"], ""),
        (&["get", "last_command"], ""),
        (&["get", "--raw", "last_command"], ""),
        (&["get", "missing"], ""),
        (&["get", "missing", "-1"], ""),
        (&["set", "big", "18446744073709551616"], ""),
        (&["get", "big"], ""),
        (&["set", "-s", "version", "42"], ""),
        (&["set", "text", "-"], "from stdin\n"),
        (&["delete", "missing"], ""),
        (&["delete", "text"], ""),
        (&["import", "-"], r#"{"a": 1, "b": [2]}"#),
        (&["import", "-"], r#"{"c": "#),
        (&["list"], ""),
        (&["export"], ""),
        (&["set", &long, "1"], ""),
        (&["set", "--if-absent", "once", "1"], ""),
        (&["set", "--if-absent", "once", "2"], ""),
        // A value is given: a value-less set stores the second it ran, which differs between the
        // two runs whenever they straddle a second.
        (
            &["set", "--if-absent", "--ttl", "1h", "once:timed", "7"],
            "",
        ),
        (&["set", "--ttl", "1h", "timed", "1"], ""),
        (&["get", "timed"], ""),
        (&["ttl", "last_command"], ""),
        (&["ttl", "missing"], ""),
        (&["expire", "timed", "none"], ""),
        (&["ttl", "timed"], ""),
        (&["expire", "missing", "5"], ""),
        (&["expire", "timed", "-5"], ""),
        (&["set", "--ttl", "0", "x", "1"], ""),
        (&["purge"], ""),
        (&["set", "timed", "2"], ""),
        (&["list"], ""),
        (&["clear"], ""),
        (&["list"], ""),
    ];
    for (args, stdin) in script {
        let on_file = kv(&[&["--file", file], *args].concat(), stdin);
        let on_redis = kv(
            &[&["--redis", &url, "--store", "cli"], *args].concat(),
            stdin,
        );
        assert_eq!(seen(&on_redis), seen(&on_file), "kv {args:?}");
        assert_eq!(
            on_redis.stderr.is_empty(),
            on_file.stderr.is_empty(),
            "kv {args:?}: {}",
            String::from_utf8_lossy(&on_redis.stderr)
        );
    }
}

#[test]
fn file_and_redis_exclude_each_other_and_redis_needs_a_store() {
    for args in [
        &[
            "--file",
            "x.json",
            "--redis",
            "redis://127.0.0.1:1",
            "--store",
            "s",
            "list",
        ][..],
        &["--redis", "redis://127.0.0.1:1", "list"],
        &["--store", "s", "list"],
    ] {
        let out = kv(args, "");
        assert_eq!(out.status.code(), Some(2), "kv {args:?}");
    }
}

#[test]
fn an_unreachable_server_is_an_io_error_that_never_shows_the_password() {
    // A port nothing listens on: probed free, then left closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://user:hunter2@127.0.0.1:{port}");
    let out = kv(&["--redis", &url, "--store", "s", "get", "k"], "");
    let message = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(5), "{message}");
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}
