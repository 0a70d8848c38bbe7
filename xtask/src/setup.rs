//! Installs what the project needs and the machine lacks; a no-op on a machine that has it all.

use std::path::Path;

use crate::cmd::Cmd;
use crate::{Result, root};

/// Debian packages, and a file each one provides.
const DEBIAN: &[(&str, &str)] = &[
    ("chromium", "/usr/bin/chromium"),
    ("chromium-driver", "/usr/bin/chromedriver"),
    ("binaryen", "/usr/bin/wasm-opt"),
    ("nodejs", "/usr/bin/node"),
    ("npm", "/usr/bin/npm"),
    ("redis-server", "/usr/bin/redis-server"),
    ("openssl", "/usr/bin/openssl"),
];

/// Directories whose `package-lock.json` pins the npm packages the tests and pages use.
pub(crate) const NPM_DIRS: &[&str] = &["tests/browser", "www", "www/bundlers"];

pub(crate) fn run() -> Result {
    rust_targets()?;
    debian_packages()?;
    wasm_bindgen_cli()?;
    cargo_tool("wasm-pack", "0.15.1")?;
    if has_nightly() {
        cargo_tool("cargo-fuzz", "0.13.2")?;
    }
    npm_packages()?;
    println!("setup: everything is installed");
    Ok(())
}

fn rust_targets() -> Result {
    let installed = Cmd::new("rustup", &["target", "list", "--installed"])
        .output()
        .unwrap_or_default();
    for target in ["wasm32-unknown-unknown", "x86_64-unknown-none"] {
        if !installed.lines().any(|line| line.trim() == target) {
            Cmd::new("rustup", &["target", "add", target]).run()?;
        }
    }
    Ok(())
}

pub(crate) fn has_nightly() -> bool {
    Cmd::new("rustup", &["toolchain", "list"])
        .output()
        .is_some_and(|list| list.lines().any(|l| l.starts_with("nightly")))
}

fn debian_packages() -> Result {
    let missing: Vec<&str> = DEBIAN
        .iter()
        .filter(|(_, file)| !Path::new(file).exists())
        .map(|(package, _)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let as_root = Cmd::new("id", &["-u"])
        .output()
        .is_some_and(|uid| uid.trim() == "0");
    let apt = |args: &[&str]| {
        if as_root {
            Cmd::new("apt-get", args)
        } else {
            Cmd::new("sudo", &[&["apt-get"], args].concat())
        }
        .env("DEBIAN_FRONTEND", "noninteractive")
    };
    apt(&["update", "-q"]).run()?;
    apt(&[
        &["install", "-y", "-q", "--no-install-recommends"],
        &missing[..],
    ]
    .concat())
    .run()
}

/// wasm-pack runs the `wasm-bindgen` it finds on PATH only if its version is exactly the one
/// in Cargo.lock; otherwise it would try to download one, which cannot work offline.
fn wasm_bindgen_cli() -> Result {
    let wanted = locked_version("wasm-bindgen")?;
    let found = Cmd::new("wasm-bindgen", &["--version"]).output();
    if found.is_some_and(|v| v.split_whitespace().nth(1) == Some(wanted.as_str())) {
        return Ok(());
    }
    cargo_install("wasm-bindgen-cli", &["--version", &format!("={wanted}")])
}

/// Installs `package` at `version` unless `cargo install` already put that version there.
fn cargo_tool(package: &str, version: &str) -> Result {
    let installed = Cmd::new("cargo", &["install", "--list"])
        .output()
        .unwrap_or_default();
    if installed
        .lines()
        .any(|line| line.starts_with(&format!("{package} v{version}:")))
    {
        return Ok(());
    }
    cargo_install(package, &["--version", &format!("={version}")])
}

/// Installs with the package's own lock file, or, if that lock no longer resolves (a yanked
/// dependency), with fresh compatible versions.
fn cargo_install(package: &str, version: &[&str]) -> Result {
    let args = [&["install", package], version].concat();
    Cmd::new("cargo", &[&args[..], &["--locked"]].concat())
        .run()
        .or_else(|e| {
            println!("  {e}; retrying without --locked");
            Cmd::new("cargo", &args).run()
        })
}

/// The version of `package` that Cargo.lock pins.
pub(crate) fn locked_version(package: &str) -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("reading Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == format!("name = \"{package}\"") {
            let version = lines.next().and_then(|l| l.strip_prefix("version = \""));
            if let Some(version) = version.and_then(|v| v.strip_suffix('"')) {
                return Ok(version.to_string());
            }
        }
    }
    Err(format!("{package} is not in Cargo.lock"))
}

fn npm_packages() -> Result {
    for dir in NPM_DIRS {
        let dir = root().join(dir);
        let lock = dir.join("package-lock.json");
        if !lock.exists() {
            continue;
        }
        let installed = dir.join("node_modules/.package-lock.json");
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let stale = match (modified(&installed), modified(&lock)) {
            (Some(installed), Some(lock)) => installed < lock,
            _ => true,
        };
        if stale {
            Cmd::new("npm", &["ci", "--no-audit", "--no-fund"])
                .dir(&dir)
                .run()?;
        }
    }
    Ok(())
}
