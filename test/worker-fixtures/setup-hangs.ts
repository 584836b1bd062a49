/** A worker setup module that never finishes loading (its start times out and the thread is stopped). */
await new Promise((resolve) => setTimeout(resolve, 60_000));

export {};
