//! Where statements run: a runtime of their own, apart from the network, on threads with stacks
//! deep enough for any statement the parser lets through, and with every panic caught.
//!
//! Apart from the network: DataFusion starts its partition tasks (tokio::spawn) when a plan is
//! executed and computes rows as the response stream is polled. Done on the runtime that serves
//! connections, a heavy statement filled its worker threads: on 2 cores another client's
//! `SELECT 1` waited 47 s and a cancel request was read 17 s late. Here a statement is parsed,
//! planned and started as a task of the statement runtime (so DataFusion's tasks land there too)
//! and its rows are pulled by a task on it, handed over in chunks through a small channel.
//!
//! Deep stacks: planning recurses over the statement's tree (sqlparser's visitors, our rules,
//! DataFusion's analyzer); a tree thousands of levels deep (`1+1+…+1`, ten thousand OR-ed
//! terms) overflowed the default 2 MiB stack and aborted the whole process. The parser bounds
//! the depth (parse.rs) and these threads have room for that bound with a wide margin; the
//! memory is only reserved, the kernel backs the pages a statement actually touches.
//!
//! Panics: a bug in one statement must not end the others. A panic while planning or while
//! computing rows becomes an XX000 error on that statement (logged with its text); the
//! connection and the server go on.

use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::common::DataFusionError;
use datafusion::execution::memory_pool::MemoryPool;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::{FutureExt, StreamExt};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, LazyLock};
use tokio::runtime::Runtime;

/// Stack of every thread that parses, plans or runs a statement (reserved, not committed).
pub const STATEMENT_STACK_BYTES: usize = 256 << 20;

/// How a stream computed on the statement runtime is handed over: up to `items` at once,
/// `ahead` such chunks buffered before the producer waits for the consumer.
#[derive(Clone, Copy)]
pub struct Handover {
    pub items: usize,
    pub ahead: usize,
}

/// Encoded rows: many small items, handed over in chunks so the channel is not the cost.
pub const ROWS: Handover = Handover {
    items: 1024,
    ahead: 4,
};

/// Record batches: each may be large, so only a couple wait for a slow client (they are
/// charged to the session's memory while they wait: result_memory.rs).
const BATCHES: Handover = Handover { items: 1, ahead: 2 };

static STATEMENTS: LazyLock<Option<Runtime>> = LazyLock::new(|| {
    // Four per core: a heavy statement's partitions (one per core) cannot take every worker,
    // so another statement's tasks still find one; tokio never preempts a busy task, and an
    // operator that does not yield (DataFusion's cross join computes hundreds of millions of
    // rows per poll) holds its worker even after an abort, until that poll ends.
    let threads = 4 * std::thread::available_parallelism().map_or(2, |n| n.get());
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("cip-exec")
        .thread_stack_size(STATEMENT_STACK_BYTES)
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            // Still correct without it, but statements then run on the caller's threads.
            tracing::error!("cannot start the statement runtime: {e}");
            None
        }
    }
});

/// The message of a caught panic.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// The error a caught panic becomes (XX000: it is our fault, not the client's).
fn internal(what: &str, payload: &(dyn std::any::Any + Send)) -> CipError {
    let message = panic_message(payload);
    tracing::error!(statement = %what, "internal error (panic): {message}");
    CipError::invalid(
        sqlstate::INTERNAL_ERROR,
        format!("internal error: {message}"),
    )
}

/// Runs `future` as a task of the statement runtime; a panic in it is an XX000 error naming
/// `what` (the statement, for the log). Dropping the returned future aborts the task.
pub async fn run<T: Send + 'static>(
    what: String,
    future: impl Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    let caught = AssertUnwindSafe(future).catch_unwind();
    let outcome = match STATEMENTS.as_ref() {
        Some(runtime) => {
            let mut task = AbortOnDrop(runtime.spawn(caught));
            match (&mut task.0).await {
                Ok(outcome) => outcome,
                Err(e) if e.is_panic() => Err(e.into_panic()),
                Err(e) => {
                    return Err(CipError::invalid(
                        sqlstate::QUERY_CANCELED,
                        format!("canceling statement: its task ended ({e})"),
                    ))
                }
            }
        }
        None => caught.await,
    };
    outcome.unwrap_or_else(|payload| Err(internal(&what, payload.as_ref())))
}

/// `stream`, computed by a task of the statement runtime and handed over in chunks; a panic
/// while computing an item ends the stream with `panicked(error)` (an XX000 error) instead of
/// ending it early as if complete.
pub fn stream_on_runtime<T, S>(
    what: String,
    stream: S,
    handover: Handover,
    panicked: impl FnOnce(CipError) -> T + Send + 'static,
) -> futures::stream::BoxStream<'static, T>
where
    T: Send + 'static,
    S: futures::Stream<Item = T> + Send + 'static,
{
    let Some(runtime) = STATEMENTS.as_ref() else {
        return stream.boxed();
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<T>>(handover.ahead);
    let producer = runtime.spawn(async move {
        let mut chunks = std::pin::pin!(stream.ready_chunks(handover.items));
        loop {
            match AssertUnwindSafe(chunks.next()).catch_unwind().await {
                Ok(Some(chunk)) => {
                    if tx.send(chunk).await.is_err() {
                        break;
                    }
                }
                Ok(None) => break,
                Err(payload) => {
                    let _ = tx
                        .send(vec![panicked(internal(&what, payload.as_ref()))])
                        .await;
                    break;
                }
            }
        }
    });
    let producer = AbortOnDrop(producer);
    let mut rx = rx;
    let chunks = futures::stream::poll_fn(move |cx| {
        // Owned here: when the consumer goes, so does the producer.
        let _producer = &producer;
        rx.poll_recv(cx)
    });
    chunks.flat_map(futures::stream::iter).boxed()
}

/// A record batch stream computed on the statement runtime (see `stream_on_runtime`), its
/// batches charged to `pool` until they are taken (result_memory.rs).
pub fn batches_on_runtime(
    what: String,
    stream: SendableRecordBatchStream,
    pool: &Arc<dyn MemoryPool>,
) -> SendableRecordBatchStream {
    super::result_memory::charged(pool, stream, |stream| {
        let schema = stream.schema();
        let batches = stream_on_runtime(what, stream, BATCHES, |e| Err(crate::error::to_df(e)));
        Box::pin(RecordBatchStreamAdapter::new(schema, batches))
    })
}

/// Runs blocking work (file I/O, fsync) off the statement threads; a panic is an XX000 error.
pub async fn blocking<T: Send + 'static>(
    what: &str,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) if e.is_panic() => Err(internal(what, e.into_panic().as_ref())),
        Err(e) => Err(CipError::DataFusion(DataFusionError::External(Box::new(e)))),
    }
}

/// Aborts the task when its consumer is dropped. Without it an aggregate, which sends nothing
/// until it is done, kept computing after a cancel or a timeout until its first send.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
