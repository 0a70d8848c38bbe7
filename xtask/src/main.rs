//! `cargo xtask setup | demo | package | test | bench`: everything a new machine needs, in one place.

mod bench;
mod cmd;
mod demo;
mod package;
mod setup;
mod test;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  setup   install what is missing: Rust targets, wasm-pack, wasm-bindgen-cli (the version in
          Cargo.lock), cargo-fuzz, Debian's chromium, chromium-driver and binaryen, npm packages
  demo    setup, build everything, run the `kv` command through a short session on
          kv-demo.json, then serve the demo page on 127.0.0.1
  package build the npm package into kv-wasm/pkg (wasm-pack, then kv-wasm/package.mjs)
  test    setup, then rustfmt, clippy, every test (native, wasm in headless Chromium, the npm
          package in Node.js, tsc and four bundlers, browser end-to-end), the bare-target build
          and a short fuzz run
  bench   setup, then the native and browser benchmarks; figures go to target/bench-*.json";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup::run(),
        Some("demo") => demo::run(&args[1..]),
        Some("package") => package::run(),
        Some("test") => test::run(),
        Some("bench") => bench::run(),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root, whatever directory cargo was run from.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

type Result<T = ()> = std::result::Result<T, String>;
