//! The listener thread: one subscription per open store, applying every commit announced on
//! the store's channel to the copy, and reading the whole store again after a reconnect.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::announce::Announcement;
use crate::copy::Followed;
use crate::error::{Error, RedisError};
use crate::link::{self, Link};
use crate::shared::Shared;

/// How often a waiting listener looks whether its `Kv` was dropped.
const POLL: Duration = Duration::from_millis(100);
/// The longest pause between two attempts to reconnect.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Starts the listener and returns once it is subscribed and has read the store into the
/// copy, or with the error that stopped it.
pub(crate) fn spawn(shared: Arc<Shared>) -> Result<JoinHandle<()>, Error> {
    let (ready, started) = mpsc::channel();
    let handle = thread::Builder::new()
        .name("kv-redis listener".to_owned())
        .spawn(move || run(&shared, ready))
        .map_err(|e| Error::Invalid(format!("could not start the listener thread: {e}")))?;
    match started.recv() {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(e)) => {
            let _ = handle.join();
            Err(e)
        }
        Err(mpsc::RecvError) => {
            let _ = handle.join();
            Err(Error::Invalid("the listener thread stopped".to_owned()))
        }
    }
}

fn run(shared: &Shared, ready: mpsc::Sender<Result<(), Error>>) {
    let mut ready = Some(ready);
    let mut loader = Link::new(shared.address.clone());
    let mut backoff = POLL;
    while !shared.stop.load(Ordering::Relaxed) {
        let failed = listen(shared, &mut loader, &mut ready);
        if let Some(ready) = ready.take() {
            // The first connection failed: `open` reports it, and this thread ends.
            let _ = ready.send(failed);
            return;
        }
        if failed.is_ok() {
            backoff = POLL;
        }
        pause(shared, backoff);
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One subscription: subscribe, read the store, then follow announcements until the
/// connection fails (`Err`) or the `Kv` is dropped (`Ok`).
fn listen(
    shared: &Shared,
    loader: &mut Link,
    ready: &mut Option<mpsc::Sender<Result<(), Error>>>,
) -> Result<(), Error> {
    let fail = |e: redis::RedisError| Error::from(RedisError::new(&shared.address, &e));
    let mut connection = link::connect(&shared.address)?;
    let mut pubsub = connection.as_pubsub();
    pubsub.subscribe(&shared.layout.channel).map_err(fail)?;
    pubsub.set_read_timeout(Some(POLL)).map_err(fail)?;
    // Subscribed first, read second: every commit after the read is announced to us.
    shared.reload(loader)?;
    if let Some(ready) = ready.take() {
        let _ = ready.send(Ok(()));
    }
    let mut last = 0;
    while !shared.stop.load(Ordering::Relaxed) {
        let message = match pubsub.get_message() {
            Ok(message) => message,
            Err(e) if e.is_timeout() => continue,
            Err(e) => return Err(fail(e)),
        };
        let announcement = Announcement::parse(message.get_payload_bytes());
        let followed = match &announcement {
            // Announcements arrive in counter order; one that does not go forward means the
            // counter was reset (the store deleted with its counter): read everything again.
            Some(a) => {
                let reset = a.seq <= last;
                last = a.seq;
                if reset {
                    Followed::Reload
                } else {
                    shared.copy().follow(a)
                }
            }
            None => Followed::Reload,
        };
        if followed == Followed::Reload {
            shared.reload(loader)?;
        }
        shared.advanced();
    }
    Ok(())
}

/// Sleeps for `duration`, waking early if the `Kv` is dropped.
fn pause(shared: &Shared, duration: Duration) {
    let mut left = duration;
    while !left.is_zero() && !shared.stop.load(Ordering::Relaxed) {
        let step = left.min(POLL);
        thread::sleep(step);
        left -= step;
    }
}
