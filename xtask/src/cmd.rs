//! Running commands loudly: each one is printed before it runs, and a failure names it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::Result;

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
    pub(crate) fn run(mut self) -> Result {
        println!("\n$ {}", self.shown);
        let started = Instant::now();
        let status = self
            .command
            .status()
            .map_err(|e| format!("`{}` did not start: {e}", self.shown))?;
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
