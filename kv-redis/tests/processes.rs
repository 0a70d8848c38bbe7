//! Two processes on one store: set-if-absent claims each ID once (with a ttl too), updates of
//! one counter lose nothing, one process's write reaches the other's `get` without reopening,
//! and removing an expired key never deletes the value another process set again.
//!
//! One binary playing both parts (`harness = false`): run with `KV_REDIS_CHILD` set to a
//! job, it is a child that opens the store, waits for `go` on stdin, does the job and prints
//! its result.
#![allow(clippy::unwrap_used)]

mod server;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::Duration;
use std::{env, io};

use kv_redis::{Clock, Error, Kv, ManualClock, SystemClock, Ttl};
use serde_json::json;
use server::Server;

const CHILD: &str = "KV_REDIS_CHILD";
const CLAIMS: u64 = 150;
const UPDATES: u64 = 100;
const DAY: Duration = Duration::from_secs(86_400);

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
        "claims_with_ttl" => (0..CLAIMS)
            .filter(|i| {
                kv.set_if_absent_with_ttl(format!("seen:{i}"), true, DAY)
                    .unwrap()
            })
            .count() as u64,
        "set_again" => {
            kv.set_with_ttl("k", "child's", Duration::from_secs(3600))
                .unwrap();
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

/// A hand-set clock showing the system clock's time to the millisecond: what the children's
/// clocks show now.
fn clock_at_now() -> Arc<ManualClock> {
    let clock = Arc::new(ManualClock::new(0));
    clock.set_ms(SystemClock.now_ms());
    clock
}

fn two_processes_claiming_ids_with_a_ttl_claim_each_once_and_both_expire(server: &Server) {
    let [a, b] = two("claims_with_ttl", &server.url());
    assert_eq!(a + b, CLAIMS, "claims: {a} + {b}");
    let clock = clock_at_now();
    let kv = Kv::options()
        .clock(clock.clone())
        .open(&server.url(), "claims_with_ttl")
        .unwrap();
    assert_eq!(kv.len(), CLAIMS as usize);
    assert!(matches!(kv.ttl("seen:0"), Ttl::Left(left) if left <= DAY));
    clock.advance(DAY.as_secs() + 1);
    assert_eq!(kv.len(), 0);
    assert_eq!(kv.purge().unwrap(), CLAIMS as usize);
}

/// This process's copy holds `k` expired; the child sets `k` again (with a ttl) while this
/// process is deciding a purge (its copy held, so the child's announcement waits): the purge
/// Redis refuses is decided again, and `k` keeps the child's value.
fn an_expired_keys_removal_never_deletes_what_another_process_set_again(server: &Server) {
    let clock = clock_at_now();
    let kv = Kv::options()
        .clock(clock.clone())
        .open(&server.url(), "set_again")
        .unwrap();
    kv.set_with_ttl("k", "parent's", Duration::from_secs(10))
        .unwrap();
    kv.set_with_ttl("gone", 0, Duration::from_secs(10)).unwrap();
    let mut worker = Some(Worker::spawn("set_again", &server.url()));
    clock.advance(10);
    let mut attempts = 0;
    let removed = kv
        .transaction(|tx| {
            attempts += 1;
            if let Some(mut worker) = worker.take() {
                assert_eq!(tx.get("k"), None);
                worker.go();
                worker.answer();
            }
            Ok::<_, Error>(tx.purge())
        })
        .unwrap();
    assert_eq!(
        (removed, attempts),
        (1, 2),
        "only `gone`, on the second decision"
    );
    assert_eq!(kv.get("k"), Some(json!("child's")));
    let held: Vec<u8> = redis::cmd("HGET")
        .arg("kv:{set_again}")
        .arg("k")
        .query(&mut server.connection())
        .unwrap();
    assert!(held.ends_with(b" \"child's\""), "{held:?}");
}

/// A named check, run against the shared server.
type Case = (&'static str, fn(&Server));

fn parent() -> ExitCode {
    let tests: [Case; 5] = [
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
        (
            "two_processes_claiming_ids_with_a_ttl_claim_each_once_and_both_expire",
            two_processes_claiming_ids_with_a_ttl_claim_each_once_and_both_expire,
        ),
        (
            "an_expired_keys_removal_never_deletes_what_another_process_set_again",
            an_expired_keys_removal_never_deletes_what_another_process_set_again,
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
