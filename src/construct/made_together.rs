//! A small app's documents made on two threads while the resolving pass reads them in app order.
//!
//! Making a stack's document (moving its L1 structs into JSON) needs only that stack's template;
//! resolving it needs every stack (`Rc` handles, which stay on the calling thread). So the calling
//! thread goes through the stacks in app order, making each document it comes to and resolving it at
//! once, while a second thread makes documents from the other end. When they meet, the calling thread
//! waits for the one document the other is making, if any. Resolving thus overlaps with making,
//! instead of waiting for every document first.
//!
//! The second thread may start a millisecond or more after it is spawned, when the other core must
//! first be woken (a median of 1.5 ms on the 2-core development VM, after the single-threaded build);
//! until then the calling thread does all the work, as a single thread would.

use std::sync::{Condvar, Mutex, PoisonError};

use serde_json::Value as Json;

use crate::template::Template;

/// Calls `each` with every template's document, in app order (index, document), on the calling
/// thread, while a second thread makes documents from the back. Stops at the first error of `each`,
/// which it returns; the second thread then makes no further document.
pub(super) fn in_order<E>(
    templates: Vec<Template>,
    mut each: impl FnMut(usize, Json) -> Result<(), E>,
) -> Result<(), E> {
    let count = templates.len();
    let shared = Shared {
        state: Mutex::new(State {
            templates: templates.into_iter().map(Some).collect(),
            documents: (0..count).map(|_| None).collect(),
            front: 0,
            back: count,
            helper_gone: false,
        }),
        made: Condvar::new(),
    };
    std::thread::scope(|scope| {
        scope.spawn(|| shared.make_from_the_back());
        let result = (0..count).try_for_each(|index| each(index, shared.take(index)));
        if result.is_err() {
            shared.abandon();
        }
        result
    })
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when the second thread has made a document, or is gone.
    made: Condvar,
}

struct State {
    /// Templates not yet taken by either thread.
    templates: Vec<Option<Template>>,
    /// Documents the second thread has made, until the calling thread takes them.
    documents: Vec<Option<Json>>,
    /// The calling thread takes the templates before `front`, the second thread those from `back` on.
    front: usize,
    back: usize,
    /// The second thread has stopped (all taken, or a panic while making a document).
    helper_gone: bool,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The calling thread's turn at `index` (every index once, in order): the template's document,
    /// made here unless the second thread took it first, in which case it waits for it.
    fn take(&self, index: usize) -> Json {
        let mut state = self.lock();
        if index < state.back {
            state.front = index + 1;
            let template = state.templates[index].take().expect("each template is taken once");
            drop(state);
            return template.into_document();
        }
        loop {
            if let Some(document) = state.documents[index].take() {
                return document;
            }
            assert!(!state.helper_gone, "the second thread stopped before making document {index}");
            state = self.made.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The second thread: takes templates from the back until the two threads meet.
    fn make_from_the_back(&self) {
        // Says it is gone however it leaves, so that the calling thread never waits for it in vain.
        struct Gone<'s>(&'s Shared);
        impl Drop for Gone<'_> {
            fn drop(&mut self) {
                self.0.lock().helper_gone = true;
                self.0.made.notify_all();
            }
        }
        let _gone = Gone(self);
        loop {
            let (index, template) = {
                let mut state = self.lock();
                if state.back <= state.front {
                    return;
                }
                state.back -= 1;
                let index = state.back;
                (index, state.templates[index].take().expect("each template is taken once"))
            };
            let document = template.into_document();
            self.lock().documents[index] = Some(document);
            self.made.notify_all();
        }
    }

    /// After an error: the second thread takes no further template.
    fn abandon(&self) {
        let mut state = self.lock();
        state.back = state.front;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Resource;

    fn templates(count: usize) -> Vec<Template> {
        (0..count)
            .map(|index| {
                let mut template = Template { description: Some(format!("stack {index}")), ..Template::default() };
                template.resources.insert(format!("Topic{index}"), Resource::new("AWS::SNS::Topic"));
                template
            })
            .collect()
    }

    #[test]
    fn every_document_comes_once_in_order_and_equal_to_one_made_alone() {
        for count in [0, 1, 2, 7, 64] {
            let expected: Vec<Json> = templates(count).into_iter().map(Template::into_document).collect();
            let mut seen = Vec::new();
            in_order(templates(count), |index, document| {
                seen.push((index, document));
                Ok::<(), ()>(())
            })
            .unwrap();
            assert_eq!(seen, expected.into_iter().enumerate().collect::<Vec<_>>(), "{count} templates");
        }
    }

    /// The calling thread slow at its first document: the second thread makes the others meanwhile,
    /// and the calling thread takes them as made (or waits for the one being made).
    #[test]
    fn documents_the_second_thread_made_come_in_order_too() {
        let expected: Vec<Json> = templates(30).into_iter().map(Template::into_document).collect();
        let mut seen = Vec::new();
        in_order(templates(30), |index, document| {
            if index == 0 {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            seen.push(document);
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(seen, expected);
    }

    #[test]
    fn the_first_error_stops_the_pass_and_is_returned() {
        let mut seen = Vec::new();
        let result = in_order(templates(20), |index, _| {
            seen.push(index);
            if index == 5 {
                Err(index)
            } else {
                Ok(())
            }
        });
        assert_eq!(result, Err(5));
        assert_eq!(seen, (0..=5).collect::<Vec<_>>());
    }
}
