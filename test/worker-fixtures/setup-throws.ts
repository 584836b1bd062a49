/**
 * A worker setup module that fails: every worker start fails. Outside a worker (the test runner
 * loads every file under test/) it does nothing.
 */
import { isMainThread } from 'node:worker_threads';

if (!isMainThread) throw new Error('setup refused');
