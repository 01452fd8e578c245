//! Query execution on its own runtime, apart from the network.
//!
//! DataFusion starts its partition tasks (tokio::spawn) when a plan is executed and computes
//! rows as the response stream is polled. Done on the runtime that serves connections, a heavy
//! statement filled its worker threads: on 2 cores another client's `SELECT 1` waited 47 s and
//! a cancel request was read 17 s late. Here statements are planned and started inside the
//! execution runtime's context (so DataFusion's tasks land there) and their rows are pulled by
//! a task on it, handed over in chunks through a small channel; the operating system shares
//! the cores between the two runtimes, so accepting, cancelling and small queries stay
//! responsive (DataFusion's own advice for servers). Dropping the consumer (a cancel, a
//! timeout, a client gone) aborts the producer at its next yield, which drops the DataFusion
//! stream and with it the partition tasks.

use futures::StreamExt;
use pgwire::api::results::SendableRowStream;
use std::future::Future;
use std::sync::LazyLock;
use tokio::runtime::Runtime;

/// Rows handed over at once, and chunks buffered ahead of the client.
const CHUNK_ROWS: usize = 1024;
const CHUNKS_AHEAD: usize = 4;

static EXECUTION: LazyLock<Option<Runtime>> = LazyLock::new(|| {
    // Four per core: a heavy statement's partitions (one per core) cannot take every worker,
    // so another statement's tasks still find one; tokio never preempts a busy task, and an
    // operator that does not yield (DataFusion's cross join computes hundreds of millions of
    // rows per poll) holds its worker even after an abort, until that poll ends.
    let threads = 4 * std::thread::available_parallelism().map_or(2, |n| n.get());
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("cip-exec")
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            // Still correct without it: rows are then computed on the connection's runtime.
            tracing::error!("cannot start the execution runtime: {e}");
            None
        }
    }
});

/// `future`, polled inside the execution runtime's context: what it spawns runs there.
pub async fn entered<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|cx| {
        let _context = EXECUTION.as_ref().map(|rt| rt.enter());
        future.as_mut().poll(cx)
    })
    .await
}

/// Runs `future` as a task on the execution runtime (the HTTP API's and the scheduler's
/// statements); dropping the returned future aborts the task.
pub async fn run<T: Send + 'static>(
    future: impl Future<Output = crate::error::Result<T>> + Send + 'static,
) -> crate::error::Result<T> {
    let Some(runtime) = EXECUTION.as_ref() else {
        return future.await;
    };
    let mut task = AbortOnDrop(runtime.spawn(future));
    match (&mut task.0).await {
        Ok(result) => result,
        Err(e) => Err(datafusion::error::DataFusionError::Execution(format!(
            "the statement's task failed: {e}"
        ))
        .into()),
    }
}

/// `rows`, computed on the execution runtime.
pub fn on_execution_runtime(rows: SendableRowStream) -> SendableRowStream {
    let Some(runtime) = EXECUTION.as_ref() else {
        return rows;
    };
    let (tx, rx) = tokio::sync::mpsc::channel(CHUNKS_AHEAD);
    let producer = runtime.spawn(async move {
        let mut chunks = rows.ready_chunks(CHUNK_ROWS);
        while let Some(chunk) = chunks.next().await {
            if tx.send(chunk).await.is_err() {
                break;
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
    Box::pin(chunks.flat_map(futures::stream::iter))
}

/// Aborts the producer when the consumer is dropped. Without it an aggregate, which sends
/// nothing until it is done, kept computing after a cancel or a timeout until its first send.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
