//! Rate limit: allow each user at most 3 commands per minute, remembered across restarts.
//!
//! ```text
//! cargo run -p kv-native --example rate_limit -- alice alice alice alice bob
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use kv_native::{Kv, Value};

const LIMIT: usize = 3;
const WINDOW_SECONDS: u64 = 60;

fn main() -> Result<(), kv_native::Error> {
    let kv = Kv::open(std::env::temp_dir().join("kv-example-rate-limit.json"))?;
    let users: Vec<String> = std::env::args().skip(1).collect();
    let users = if users.is_empty() {
        ["alice", "alice", "alice", "alice", "bob"]
            .map(String::from)
            .to_vec()
    } else {
        users
    };
    for user in users {
        let allowed = allow(&kv, &user)?;
        println!(
            "{user}: {}",
            if allowed { "allowed" } else { "rate limited" }
        );
    }
    Ok(())
}

/// Records a request by `user` and says whether it is within the limit. Read, decide and
/// write happen in one `update`, so two threads cannot both take the last slot.
fn allow(kv: &Kv, user: &str) -> Result<bool, kv_native::Error> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut allowed = false;
    kv.update(format!("rate:{user}"), |current| {
        let mut recent: Vec<u64> = current
            .and_then(Value::as_array)
            .map(|times| times.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default();
        recent.retain(|&t| t + WINDOW_SECONDS > now);
        allowed = recent.len() < LIMIT;
        if allowed {
            recent.push(now);
        }
        Some(recent.into())
    })?;
    Ok(allowed)
}
