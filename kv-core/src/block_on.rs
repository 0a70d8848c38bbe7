use core::fmt;
use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

/// Runs a future that completes without waiting, as every operation over synchronous storage
/// (a file, `localStorage`, memory) does, and returns its output.
///
/// This is how a blocking API sits on the async [`Persist`](crate::Persist) contract without an
/// executor. A future that returns `Pending` is not waited for: the call reports [`NotReady`].
pub fn block_on<F: Future>(future: F) -> Result<F::Output, NotReady> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Ok(output),
        Poll::Pending => Err(NotReady),
    }
}

/// The future given to [`block_on`] had to wait: its storage is asynchronous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotReady;

impl fmt::Display for NotReady {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the storage operation did not complete synchronously")
    }
}

impl core::error::Error for NotReady {}
