//! Writes one at a time, in the order they were called.
//!
//! Hand-written rather than an async mutex from a crate: writes must apply in call order,
//! which needs a first-in, first-out hand-over (futures-util's `Mutex` lets a newcomer take
//! a just-released lock before the waiter it woke), and everything here runs on one thread,
//! so a `RefCell` and a queue of wakers are all the state it takes.

use alloc::collections::VecDeque;
use alloc::rc::Rc;
use core::cell::{Cell, RefCell};
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

/// A first-in, first-out lock for the writes of one `Kv`.
#[derive(Debug, Default)]
pub(crate) struct WriteQueue {
    /// Invariant: `busy` while a [`Turn`] is alive or has been granted to a waiter.
    busy: Cell<bool>,
    waiting: RefCell<VecDeque<Rc<Slot>>>,
}

#[derive(Debug, Default)]
struct Slot {
    granted: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl WriteQueue {
    /// Waits until every write queued before this call has finished; the returned [`Turn`]
    /// keeps later writes waiting until it is dropped.
    pub(crate) fn turn(&self) -> Wait<'_> {
        if !self.busy.get() {
            self.busy.set(true);
            return Wait {
                queue: self,
                slot: None,
            };
        }
        let slot = Rc::new(Slot::default());
        self.waiting.borrow_mut().push_back(Rc::clone(&slot));
        Wait {
            queue: self,
            slot: Some(slot),
        }
    }

    /// Takes the lock of a queue nobody has used yet, for a holder that is not a future's
    /// scope (the load of a store); [`release`](Self::release) hands it on.
    pub(crate) fn hold(&self) {
        debug_assert!(!self.busy.get());
        self.busy.set(true);
    }

    /// Ends a [`hold`](Self::hold).
    pub(crate) fn release(&self) {
        self.pass();
    }

    /// Hands the lock to the next waiter, or frees it.
    fn pass(&self) {
        let next = self.waiting.borrow_mut().pop_front();
        match next {
            Some(slot) => {
                slot.granted.set(true);
                if let Some(waker) = slot.waker.borrow_mut().take() {
                    waker.wake();
                }
            }
            None => self.busy.set(false),
        }
    }
}

/// A place in the [`WriteQueue`], resolving to a [`Turn`].
#[derive(Debug)]
pub(crate) struct Wait<'q> {
    queue: &'q WriteQueue,
    /// `None` once the turn has been handed out (or if it was free at once).
    slot: Option<Rc<Slot>>,
}

impl<'q> Future for Wait<'q> {
    type Output = Turn<'q>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Turn<'q>> {
        match &self.slot {
            Some(slot) if !slot.granted.get() => {
                *slot.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
            _ => {
                self.slot = None;
                Poll::Ready(Turn { queue: self.queue })
            }
        }
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        let Some(slot) = self.slot.take() else {
            return;
        };
        if slot.granted.get() {
            // Granted but never taken: hand it on.
            self.queue.pass();
        } else {
            self.queue
                .waiting
                .borrow_mut()
                .retain(|waiting| !Rc::ptr_eq(waiting, &slot));
        }
    }
}

/// The current writer's turn; the next write starts when it is dropped.
#[derive(Debug)]
pub(crate) struct Turn<'q> {
    queue: &'q WriteQueue,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.queue.pass();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
        Pin::new(future).poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn turns_are_granted_in_call_order() {
        let queue = WriteQueue::default();
        let mut first = queue.turn();
        let mut second = queue.turn();
        let mut third = queue.turn();
        let Poll::Ready(turn) = poll(&mut first) else {
            panic!("a free queue grants the first turn at once");
        };
        assert!(poll(&mut second).is_pending());
        assert!(poll(&mut third).is_pending());
        drop(turn);
        assert!(
            poll(&mut third).is_pending(),
            "the third waits for the second"
        );
        let Poll::Ready(turn) = poll(&mut second) else {
            panic!("the second is next");
        };
        drop(turn);
        assert!(poll(&mut third).is_ready());
    }

    #[test]
    fn a_waiter_that_gives_up_does_not_block_the_queue() {
        let queue = WriteQueue::default();
        let Poll::Ready(turn) = poll(&mut queue.turn()) else {
            panic!("a free queue grants the first turn at once");
        };
        let mut abandoned = queue.turn();
        assert!(poll(&mut abandoned).is_pending());
        let mut last = queue.turn();
        drop(turn);
        drop(abandoned);
        assert!(poll(&mut last).is_ready());
    }

    #[test]
    fn the_queue_is_free_again_once_every_turn_is_dropped() {
        let queue = WriteQueue::default();
        drop(poll(&mut queue.turn()));
        assert!(!queue.busy.get());
        assert!(poll(&mut queue.turn()).is_ready());
    }
}
