//! The demo: the `kv` command in a short scripted session, then the demo page served locally.

use crate::cmd::Cmd;
use crate::{Result, root, setup};

/// The state file the scripted `kv` session uses, in the workspace root.
const DEMO_FILE: &str = "kv-demo.json";

pub(crate) fn run(args: &[String]) -> Result {
    setup::run()?;
    build_package()?;
    cli_session()?;
    let port = match args {
        [flag, port] if flag == "--port" => port.as_str(),
        [] => "8080",
        _ => return Err("usage: cargo xtask demo [--port N]".into()),
    };
    println!("\nserving the demo page (Ctrl-C stops it)");
    Cmd::new(
        "node",
        &["www/serve.mjs", "--port", port, "--open", "/www/"],
    )
    .run()
}

/// Builds the npm package into kv-wasm/pkg and copies it into the extension example.
pub(crate) fn build_package() -> Result {
    crate::package::run()?;
    Cmd::new("node", &["www/extension/build.mjs"]).run()
}

fn cli_session() -> Result {
    Cmd::new(
        "cargo",
        &[
            "build",
            "--quiet",
            "--release",
            "-p",
            "kv-native",
            "--bin",
            "kv",
        ],
    )
    .run()?;
    let kv = root().join("target/release/kv");
    let kv = kv.to_string_lossy();
    let file = root().join(DEMO_FILE);
    let file = file.to_string_lossy();
    println!("\nthe `kv` command on {DEMO_FILE}:");
    let steps: &[&[&str]] = &[
        &["set", "last_command", "ping"],
        &["touch", "seen:123"],
        &["set", "limits", r#"{"per_minute": 30}"#],
        &["get", "last_command"],
        &["get", "limits"],
        &["list"],
        &["delete", "last_command"],
        &["export"],
    ];
    for step in steps {
        Cmd::new(&kv, &[&["--file", &file], *step].concat()).run()?;
    }
    Ok(())
}
