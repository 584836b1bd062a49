/**
 * The `fs` calls on a descriptor that the file readers share, as promises. Internal.
 *
 * @module
 */
import fs from 'node:fs';

/** Bytes asked for per read when the length is unknown: fs.ReadStream's default highWaterMark. */
export const FILE_READ_BYTES = 64 * 1024;

// The callback API on a descriptor, not FileHandle's promise methods: one thread-pool round trip
// per call either way, but each FileHandle call costs noticeably more in JS (measured: readAll of
// a 64 KiB file went from 0.70× to about fs.readFile's speed).

/**
 * `open(2)` without `O_NONBLOCK` waits in the kernel until a FIFO has a writer (or a terminal line
 * has carrier), holding one of libuv's four thread-pool threads where nothing can cancel it. With
 * `O_NONBLOCK` such an open returns at once; regular files and block devices ignore the flag
 * (open(2)). Windows has no `O_NONBLOCK` and no FIFOs to open by path.
 */
const READ_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);

/** Open a path to read, without waiting for a FIFO's writer. */
export function openPath(path: string | URL): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.open(path, READ_FLAGS, (err, fd) => (err ? reject(err) : resolve(fd))),
  );
}

export function statFd(fd: number): Promise<fs.Stats> {
  return new Promise((resolve, reject) =>
    fs.fstat(fd, (err, stats) => (err ? reject(err) : resolve(stats))),
  );
}

export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve())));
}

export function readFd(
  fd: number,
  buffer: Buffer,
  offset: number,
  length: number,
  position: number | null,
): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.read(fd, buffer, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))),
  );
}
