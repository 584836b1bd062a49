/**
 * Turning an image input (lease, bytes, path or stream) into bytes sharp can read. Internal.
 *
 * @module
 */
import { fileURLToPath } from 'node:url';
import { LimitExceededError } from '../../errors.js';
import { readFileNoCache } from '../../fs/index.js';
import type { Lease } from '../../pool/index.js';
import { type Holder, nextTicket } from '../../pool/wait-queue.js';
import { type ReadAllSource, readAll } from '../../read-all/index.js';
import { classifySource } from '../../source/index.js';
import type { ImageSettings } from './options.js';

/**
 * What `transformImage` and `decodeRaw` read:
 * - a {@link Lease} (for example from `readAll` or `readFileNoCache`): read in place, never
 *   released by slabio; keep it until the returned promise settles;
 * - a `Buffer` or `Uint8Array`: read in place;
 * - a path (`string` or file `URL`): read into a pooled lease with `readFileNoCache`, so the input
 *   does not stay in the page cache, and released when done;
 * - a `Readable`, async iterable or web `ReadableStream`: collected with `readAll` into a pooled
 *   lease (sharp's own stream input would `Buffer.concat` every chunk), released when done.
 */
export type ImageInput = Lease | Uint8Array | string | URL | Exclude<ReadAllSource, string | URL>;

/**
 * @internal Input bytes plus how to give them back. A {@link Holder}: output leased while the
 * input is held counts the input's pool memory (also a caller's lease, which stays held until
 * the call settles), so the pool sees calls that only wait for each other.
 */
export interface HeldInput extends Holder {
  readonly bytes: Uint8Array;
  /** Releases the lease slabio read the input into (once); does nothing for caller-owned memory. */
  release(): void;
}

function held(
  bytes: Uint8Array,
  lease: Lease | undefined,
  s: ImageSettings,
  own: boolean,
): HeldInput {
  return {
    bytes,
    ticket: nextTicket(),
    heldBytes: () => lease?.heldIn(s.pool) ?? 0,
    release: () => {
      if (own) lease?.[Symbol.dispose]();
    },
  };
}

const INPUT_KINDS = ['bytes', 'path', 'handle', 'readable', 'web', 'iterable'] as const;

function checkLength(length: number, s: ImageSettings): void {
  if (length > s.maxInputBytes)
    throw new LimitExceededError(s.maxInputBytes, length, 'image input');
}

/**
 * @internal Bytes of `input`, read into the pool when it is a path or a stream.
 * @throws {TypeError} for an input of another kind.
 * @throws {LimitExceededError} `ERR_SLABIO_LIMIT` above `maxInputBytes`.
 * @throws {UseAfterReleaseError} `ERR_SLABIO_RELEASED` for a released lease.
 */
export async function openInput(input: ImageInput, s: ImageSettings): Promise<HeldInput> {
  const source = classifySource(input, 'input', INPUT_KINDS);
  if (source.kind === 'bytes') {
    const { value } = source;
    // A caller's lease is read in place and stays theirs.
    const bytes = value instanceof Uint8Array ? value : value.buffer;
    checkLength(bytes.length, s);
    return held(bytes, value instanceof Uint8Array ? undefined : value, s, false);
  }
  const options = {
    pool: s.pool,
    maxBytes: s.maxInputBytes,
    ...(s.signal === undefined ? {} : { signal: s.signal }),
  };
  if (source.kind === 'path') {
    const { value } = source;
    const path = typeof value === 'string' ? value : fileURLToPath(value);
    const lease = await readFileNoCache(path, options);
    return held(lease.buffer, lease, s, true);
  }
  const lease = await readAll(source.value as ReadAllSource, options);
  return held(lease.buffer, lease, s, true);
}
