//! Every check the project has, in the order that fails fastest.

use std::time::Instant;

use crate::cmd::Cmd;
use crate::setup::{self, has_nightly};
use crate::{Result, root};

/// How long `cargo xtask test` runs each fuzz target when nightly is present.
const FUZZ_SECONDS: &str = "30";

/// The targets in `fuzz/fuzz_targets`: the snapshot decoder, and `JsonText` against serde_json.
const FUZZ_TARGETS: &[&str] = &["decode_snapshot", "json_text", "records"];

/// One check: a cargo command line, or a function.
enum Step {
    Cargo(&'static str, &'static [&'static str]),
    Run(&'static str, fn() -> Result),
}

const STEPS: &[Step] = &[
    Step::Cargo("rustfmt", &["fmt", "--all", "--check"]),
    Step::Cargo(
        "clippy on the host",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ],
    ),
    // Features unify across the workspace, so the build above cannot see a crate that
    // compiles only with its optional features on (kv-native without `tokio` once did not).
    Step::Cargo(
        "clippy on kv-native with its default features alone",
        &[
            "clippy",
            "-p",
            "kv-native",
            "--lib",
            "--bins",
            "--",
            "-D",
            "warnings",
        ],
    ),
    Step::Cargo(
        "clippy on wasm32",
        &[
            "clippy",
            "-p",
            "kv-wasm",
            "--target",
            "wasm32-unknown-unknown",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    ),
    Step::Cargo(
        "clippy on wasm32, the npm build (feature standalone: no std)",
        &[
            "clippy",
            "-p",
            "kv-wasm",
            "--target",
            "wasm32-unknown-unknown",
            "--lib",
            "--features",
            "standalone",
            "--",
            "-D",
            "warnings",
        ],
    ),
    Step::Run("rustdoc of every crate, warnings denied", docs),
    Step::Cargo(
        "kv-core on a bare target (no_std)",
        &["build", "-p", "kv-core", "--target", "x86_64-unknown-none"],
    ),
    Step::Cargo(
        "native tests: conformance, model, crash, faults, threads, CLI, doctests",
        &[
            "test",
            "--workspace",
            "--all-features",
            "--exclude",
            "kv-wasm",
        ],
    ),
    Step::Cargo(
        "kv-wasm unit tests on the host (message encoding, write queue, prefixes)",
        &["test", "-p", "kv-wasm", "--lib"],
    ),
    Step::Run("wasm tests in headless Chromium", wasm_tests),
    Step::Run(
        "a plain `wasm-pack build --release --target web kv-wasm` makes a working package",
        crate::package::plain,
    ),
    Step::Run("npm package build", crate::demo::build_package),
    Step::Run(
        "npm package: package.json, npm pack, errors, tsc, Node.js, four bundlers in Chromium",
        npm_tests,
    ),
    Step::Run("browser end-to-end tests", browser_tests),
    Step::Run(
        "fuzz the snapshot decoder and JsonText (nightly only)",
        fuzz,
    ),
];

pub(crate) fn run() -> Result {
    let started = Instant::now();
    setup::run()?;
    let total = STEPS.len();
    for (i, step) in STEPS.iter().enumerate() {
        let name = match step {
            Step::Cargo(name, _) | Step::Run(name, _) => name,
        };
        println!("\n=== [{}/{total}] {name}", i + 1);
        let result = match step {
            Step::Cargo(_, args) => Cmd::new("cargo", args).run(),
            Step::Run(_, f) => f(),
        };
        result.map_err(|e| format!("step `{name}` failed: {e}"))?;
    }
    println!(
        "\nall {total} steps passed in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Broken intra-doc links and other rustdoc warnings fail the run.
fn docs() -> Result {
    Cmd::new(
        "cargo",
        &["doc", "--no-deps", "--workspace", "--all-features"],
    )
    .env("RUSTDOCFLAGS", "-D warnings")
    .run()
}

fn wasm_tests() -> Result {
    Cmd::new("wasm-pack", &["test", "--headless", "--chrome", "kv-wasm"])
        .env("CHROMEDRIVER", "/usr/bin/chromedriver")
        .env("WASM_BINDGEN_TEST_TIMEOUT", "120")
        .run()
}

/// No one browser or bundler test takes a minute; one that hangs fails after five, naming
/// itself, instead of holding the run until [`Cmd::run`]'s limit.
const NODE_TEST_TIMEOUT: &str = "--test-timeout=300000";

fn npm_tests() -> Result {
    Cmd::new("node", &["--test", NODE_TEST_TIMEOUT, "tests/npm/"]).run()
}

fn browser_tests() -> Result {
    Cmd::new("node", &["--test", NODE_TEST_TIMEOUT, "tests/browser/"]).run()
}

fn fuzz() -> Result {
    if !has_nightly() {
        println!("no nightly toolchain: skipped");
        return Ok(());
    }
    let max_time = format!("-max_total_time={FUZZ_SECONDS}");
    for target in FUZZ_TARGETS {
        Cmd::new(
            "cargo",
            &["+nightly", "fuzz", "run", target, "--", &max_time],
        )
        .dir(&root().join("fuzz"))
        .run()?;
    }
    Ok(())
}
