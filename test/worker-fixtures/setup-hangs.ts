/**
 * A worker setup module that never finishes loading: its start times out and the thread is
 * stopped. Outside a worker (the test runner loads every file under test/) it does nothing.
 */
import { isMainThread } from 'node:worker_threads';

if (!isMainThread) await new Promise((resolve) => setTimeout(resolve, 60_000));
