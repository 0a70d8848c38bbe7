//! The benchmarks: native durable writes against pickledb, rustbreak and the fsync floor; Redis
//! round trips against bare HSET on the same redis-server; the
//! npm package in Chromium against idb-keyval and localForage. Each prints its table and
//! writes its figures to target/bench-*.json.

use crate::cmd::Cmd;
use crate::{Result, setup};

pub(crate) fn run() -> Result {
    setup::run()?;
    Cmd::new(
        "cargo",
        &[
            "bench",
            "-p",
            "kv-native",
            "--all-features",
            "--bench",
            "durable",
        ],
    )
    .run()?;
    Cmd::new(
        "cargo",
        &["bench", "-p", "kv-redis", "--bench", "round_trip"],
    )
    .run()?;
    crate::demo::build_package()?;
    Cmd::new("node", &["www/bench/run.mjs"]).run()?;
    println!(
        "\nfigures: target/bench-native.json, target/bench-redis.json, target/bench-browser.json"
    );
    Ok(())
}
