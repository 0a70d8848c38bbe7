//! Seen IDs: handle each incoming message once, even across restarts and crashes.
//!
//! ```text
//! cargo run -p kv-native --example seen_ids -- 17 42 17
//! ```
//! Run it twice: the second run has seen every ID already.

use kv_native::Kv;

fn main() -> Result<(), kv_native::Error> {
    let path = std::env::temp_dir().join("kv-example-seen-ids.json");
    let kv = Kv::open(&path)?;
    let ids: Vec<String> = std::env::args().skip(1).collect();
    let ids = if ids.is_empty() {
        vec!["17".into(), "42".into(), "17".into()]
    } else {
        ids
    };
    for id in ids {
        // The check and the record are one durable step: a crash between "handle" and
        // "remember" cannot make a message count twice.
        if kv.touch_if_absent(format!("seen:{id}"))? {
            println!("message {id}: new, handling it");
        } else {
            let when = kv.get(&format!("seen:{id}")).unwrap_or_default();
            println!("message {id}: already seen at unix time {when}, skipping");
        }
    }
    println!("{} IDs remembered in {}", kv.len(), kv.path().display());
    Ok(())
}
