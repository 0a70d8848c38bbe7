//! The conformance suite every adapter passes, run against `RedisPersist` on a real
//! `redis-server` (one per test, on a free port, in a temporary directory).
#![allow(clippy::unwrap_used)]

mod server;

use kv_redis::RedisPersist;
use kv_tests::Harness;
use server::Server;

/// Each fresh store is a new store name on one server.
struct RedisHarness {
    server: Server,
    name: String,
    count: usize,
}

impl RedisHarness {
    fn new() -> Self {
        Self {
            server: Server::start(),
            name: String::new(),
            count: 0,
        }
    }
}

impl Harness for RedisHarness {
    type Persist = RedisPersist;

    async fn fresh(&mut self) -> RedisPersist {
        self.count += 1;
        // Names that escaping must keep apart from each other: `{`, `}`, `%` and `:`.
        self.name = format!("store {{{}}}:%{}", self.count, self.count);
        RedisPersist::open(&self.server.url(), &self.name).unwrap()
    }

    async fn reopen(&mut self) -> RedisPersist {
        RedisPersist::open(&self.server.url(), &self.name).unwrap()
    }

    async fn corrupt(&mut self) {
        // A record that is not JSON, as another program could write with `redis-cli HSET`.
        let hash = format!("kv:{{store %7B{}%7D:%25{}}}", self.count, self.count);
        let mut connection = self.server.connection();
        let () = redis::cmd("HSET")
            .arg(&hash)
            .arg("broken")
            .arg("{\"unterminated")
            .query(&mut connection)
            .unwrap();
    }
}

kv_tests::conformance_tests!(sync: RedisHarness::new());
