//! Running commands loudly: each one is printed before it runs, and a failure names it.

use std::io::IsTerminal;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::Result;

/// The longest any one command may run: the slowest today (the browser tests, a fresh
/// build of every test binary) take under ten minutes on two cores.
const LIMIT: Duration = Duration::from_secs(25 * 60);

/// A command line to run from `dir`, printed as it starts.
pub(crate) struct Cmd {
    command: Command,
    shown: String,
}

impl Cmd {
    pub(crate) fn new(program: &str, args: &[&str]) -> Self {
        let mut command = Command::new(program);
        command.args(args).current_dir(crate::root());
        Self {
            command,
            shown: std::iter::once(program)
                .chain(args.iter().copied())
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    pub(crate) fn dir(mut self, dir: &Path) -> Self {
        self.command.current_dir(dir);
        self
    }

    pub(crate) fn env(mut self, key: &str, value: &str) -> Self {
        self.command.env(key, value);
        self
    }

    /// Runs to completion with inherited output; fails unless it exits 0.
    ///
    /// A command still running after [`LIMIT`] is killed with everything it started (it runs
    /// in a process group of its own) and fails the run: a hang must fail CI with its name,
    /// not run out CI's clock.
    pub(crate) fn run(mut self) -> Result {
        println!("\n$ {}", self.shown);
        let started = Instant::now();
        // At a terminal the command stays in the foreground group: Ctrl-C reaches it, and
        // `sudo` can ask for a password.
        let grouped = !std::io::stdin().is_terminal();
        if grouped {
            self.command.process_group(0);
        }
        let mut child = self
            .command
            .spawn()
            .map_err(|e| format!("`{}` did not start: {e}", self.shown))?;
        let status = loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                break status;
            }
            if started.elapsed() > LIMIT {
                // A negative pid names the process group (kill(1)); `kill` the command is
                // used so that xtask needs no libc binding for one call.
                let target = if grouped {
                    format!("-{}", child.id())
                } else {
                    child.id().to_string()
                };
                let _ = Command::new("kill").args(["-KILL", "--", &target]).status();
                let _ = child.wait();
                return Err(format!(
                    "`{}` was still running after {} s and was killed",
                    self.shown,
                    LIMIT.as_secs()
                ));
            }
            thread::sleep(Duration::from_millis(100));
        };
        if status.success() {
            println!("  ({:.1}s)", started.elapsed().as_secs_f64());
            Ok(())
        } else {
            Err(format!("`{}` failed: {status}", self.shown))
        }
    }

    /// Runs quietly and returns what it printed, or `None` if it could not run or failed.
    pub(crate) fn output(mut self) -> Option<String> {
        let out = self
            .command
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }
}
