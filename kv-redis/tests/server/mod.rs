//! A real `redis-server` for one test: on 127.0.0.1, a free port, a temporary directory, the
//! append-only file synced on every write. Stopped (SIGKILL) when dropped.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to accept connections before the test gives up.
const START_TIMEOUT: Duration = Duration::from_secs(20);

pub(crate) struct Server {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    extra: Vec<String>,
}

impl Server {
    /// Starts a server; panics if `redis-server` is missing (`cargo xtask setup` installs it).
    pub(crate) fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a server with extra configuration arguments (`["--requirepass", "..."]`).
    pub(crate) fn start_with(extra: &[&str]) -> Self {
        let mut server = Self {
            child: None,
            port: 0,
            dir: tempfile::tempdir().unwrap(),
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
        };
        // Another process may take the probed port before the server binds it: try again.
        for _ in 0..6 {
            server.port = free_port();
            if server.spawn() {
                return server;
            }
        }
        panic!("redis-server did not start on any of 6 ports");
    }

    /// Starts the server process and waits until it answers; false if it exited first.
    fn spawn(&mut self) -> bool {
        let port = self.port.to_string();
        let dir = self.dir.path().to_str().unwrap().to_owned();
        let log = std::fs::File::create(self.dir.path().join("redis.log")).unwrap();
        let mut args = vec![
            "--port",
            &port,
            "--bind",
            "127.0.0.1",
            "--dir",
            &dir,
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
        ];
        args.extend(self.extra.iter().map(String::as_str));
        let child = Command::new("redis-server")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("redis-server did not start ({e}); `cargo xtask setup` installs it")
            });
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                eprintln!("redis-server exited with {status}: {}", self.log());
                self.child = None;
                return false;
            }
            if self.answers() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "redis-server did not answer within {START_TIMEOUT:?}: {}",
            self.log()
        );
    }

    /// Whether the server accepts a connection and answers PING (`NOAUTH` counts: it is up).
    fn answers(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        if stream.write_all(b"PING\r\n").is_err() {
            return false;
        }
        let mut line = String::new();
        let ok = BufReader::new(&mut stream).read_line(&mut line).is_ok();
        ok && (line.starts_with("+PONG") || line.starts_with("-NOAUTH"))
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `redis://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server with SIGKILL, as a crash would, and waits for it to be gone.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and directory: it reads back its
    /// append-only file.
    pub(crate) fn restart(&mut self) {
        self.kill();
        assert!(self.spawn(), "redis-server did not restart: {}", self.log());
    }

    /// A plain connection, for checking what Redis holds beside the store.
    pub(crate) fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap()
    }

    fn log(&self) -> String {
        let mut text = String::new();
        let path: PathBuf = self.dir.path().join("redis.log");
        if let Ok(mut file) = std::fs::File::open(path) {
            let _ = file.read_to_string(&mut text);
        }
        text
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port no one listens on now: the kernel's pick for a socket bound to port 0.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
