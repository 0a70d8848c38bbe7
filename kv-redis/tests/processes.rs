//! Two processes on one store: set-if-absent claims each ID once, updates of one counter lose
//! nothing, and one process's write reaches the other's `get` without reopening.
//!
//! One binary playing both parts (`harness = false`): run with `KV_REDIS_CHILD` set to a
//! job, it is a child that opens the store, waits for `go` on stdin, does the job and prints
//! its result.
#![allow(clippy::unwrap_used)]

mod server;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Duration;
use std::{env, io};

use kv_redis::Kv;
use serde_json::json;
use server::Server;

const CHILD: &str = "KV_REDIS_CHILD";
const CLAIMS: u64 = 150;
const UPDATES: u64 = 100;

fn main() -> ExitCode {
    match env::var(CHILD) {
        Ok(job) => child(&job, &env::var("KV_REDIS_URL").unwrap()),
        Err(_) => parent(),
    }
}

/// Opens the store, says `ready`, waits for `go`, does `job`, prints its answer.
fn child(job: &str, url: &str) -> ExitCode {
    let kv = Kv::open(url, job).unwrap();
    println!("ready");
    let mut line = String::new();
    io::stdin().read_line(&mut line).unwrap();
    let answer = match job {
        "claims" => (0..CLAIMS)
            .filter(|i| kv.touch_if_absent(format!("seen:{i}")).unwrap())
            .count() as u64,
        "counter" => {
            for _ in 0..UPDATES {
                kv.update("n", |v| {
                    Some(json!(v.and_then(|v| v.as_u64()).unwrap_or(0) + 1))
                })
                .unwrap();
            }
            0
        }
        "greeting" => {
            kv.set("greeting", format!("hello from {}", std::process::id()))
                .unwrap();
            u64::from(std::process::id())
        }
        other => panic!("unknown job {other}"),
    };
    println!("{answer}");
    ExitCode::SUCCESS
}

struct Worker {
    child: Child,
    out: BufReader<std::process::ChildStdout>,
}

impl Worker {
    fn spawn(job: &str, url: &str) -> Self {
        let mut child = Command::new(env::current_exe().unwrap())
            .env(CHILD, job)
            .env("KV_REDIS_URL", url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready");
        Self { child, out }
    }

    fn go(&mut self) {
        writeln!(self.child.stdin.as_mut().unwrap(), "go").unwrap();
    }

    fn answer(mut self) -> u64 {
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        assert!(self.child.wait().unwrap().success());
        line.trim().parse().unwrap()
    }
}

/// Starts two workers on `job`, lets them go at once, returns their answers.
fn two(job: &str, url: &str) -> [u64; 2] {
    let mut workers = [Worker::spawn(job, url), Worker::spawn(job, url)];
    for worker in &mut workers {
        worker.go();
    }
    workers.map(Worker::answer)
}

fn two_processes_claiming_the_same_ids_claim_each_once(server: &Server) {
    let [a, b] = two("claims", &server.url());
    assert_eq!(a + b, CLAIMS, "claims: {a} + {b}");
    assert_eq!(
        Kv::open(&server.url(), "claims").unwrap().len(),
        CLAIMS as usize
    );
}

fn two_processes_incrementing_one_counter_lose_nothing(server: &Server) {
    two("counter", &server.url());
    let kv = Kv::open(&server.url(), "counter").unwrap();
    assert_eq!(kv.get("n"), Some(json!(2 * UPDATES)));
}

fn another_processs_write_reaches_get_without_reopening(server: &Server) {
    let kv = Kv::open(&server.url(), "greeting").unwrap();
    let mut seen = kv.seq();
    let mut worker = Worker::spawn("greeting", &server.url());
    worker.go();
    let pid = worker.answer();
    let want = json!(format!("hello from {pid}"));
    while kv.get("greeting").as_ref() != Some(&want) {
        let now = kv.wait_past(seen, Duration::from_secs(30));
        assert!(now > seen, "no announcement reached this process");
        seen = now;
    }
}

/// A named check, run against the shared server.
type Case = (&'static str, fn(&Server));

fn parent() -> ExitCode {
    let tests: [Case; 3] = [
        (
            "two_processes_claiming_the_same_ids_claim_each_once",
            two_processes_claiming_the_same_ids_claim_each_once,
        ),
        (
            "two_processes_incrementing_one_counter_lose_nothing",
            two_processes_incrementing_one_counter_lose_nothing,
        ),
        (
            "another_processs_write_reaches_get_without_reopening",
            another_processs_write_reaches_get_without_reopening,
        ),
    ];
    let server = Server::start();
    let mut failed = 0;
    for (name, test) in tests {
        let outcome = std::panic::catch_unwind(|| test(&server));
        println!(
            "test {name} ... {}",
            if outcome.is_ok() { "ok" } else { "FAILED" }
        );
        failed += usize::from(outcome.is_err());
    }
    println!("{} passed, {failed} failed", tests.len() - failed);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
