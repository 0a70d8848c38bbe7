//! The npm package: wasm-pack's build of kv-wasm into kv-wasm/pkg, finished for bundlers and
//! publishing by `kv-wasm/package.mjs` (`exports` naming the `.wasm`, `sideEffects`, ...).

use crate::Result;
use crate::cmd::Cmd;

/// The wasm-pack command line of the npm package: size-tuned, feature `standalone` (no std).
pub(crate) const WASM_PACK_BUILD: &[&str] = &[
    "build",
    "kv-wasm",
    "--target",
    "web",
    "--out-dir",
    "pkg",
    "--profile",
    "wasm-release",
    "--",
    "--features",
    "standalone",
];

/// Builds the npm package into kv-wasm/pkg.
pub(crate) fn run() -> Result {
    Cmd::new("wasm-pack", WASM_PACK_BUILD).run()?;
    Cmd::new("node", &["kv-wasm/package.mjs"]).run()
}

/// What a user who runs wasm-pack with no options gets: a working package (std's allocator
/// and panic handler, so larger), checked by the error tests in Node.js. It builds into
/// kv-wasm/pkg, so it runs before [`run`] replaces it.
pub(crate) fn plain() -> Result {
    Cmd::new(
        "wasm-pack",
        &["build", "--release", "--target", "web", "kv-wasm"],
    )
    .run()?;
    Cmd::new("node", &["--test", "tests/npm/errors.test.mjs"]).run()
}
