//! Last command: remember what the user ran last, with typed values through serde.
//!
//! ```text
//! cargo run -p kv-native --example last_command -- deploy --prod
//! cargo run -p kv-native --example last_command
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use kv_native::Kv;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Invocation {
    args: Vec<String>,
    at: u64,
}

fn main() -> Result<(), kv_native::Error> {
    let kv = Kv::open(std::env::temp_dir().join("kv-example-last-command.json"))?;
    match kv.get_as::<Invocation>("last_command")? {
        Some(last) => println!("last time you ran {:?} at unix time {}", last.args, last.at),
        None => println!("no command remembered yet"),
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.is_empty() {
        let at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        kv.set_as("last_command", &Invocation { args, at })?;
        println!("remembered");
    }
    Ok(())
}
