/**
 * Shapes shared by the soak's supervisor, load generator and report.
 *
 * @module
 */

/**
 * The kinds of client the load generator runs:
 * - `upload`: an image upload with `content-length`;
 * - `upload-chunked`: the same without a length (`transfer-encoding: chunked`);
 * - `over-limit`: a body declared over the service's upload limit;
 * - `over-limit-chunked`: a body streamed without a length past the limit;
 * - `reset`: an image upload that the client abandons mid-body (`socket.destroy()`), declared and
 *   chunked in turn;
 * - `slow`: a small image sent at one byte per 100 ms;
 * - `non-image`: bytes that are no image, with a length;
 * - `metrics`: a `/metrics` scrape.
 */
export type Kind =
  | 'upload'
  | 'upload-chunked'
  | 'over-limit'
  | 'over-limit-chunked'
  | 'reset'
  | 'slow'
  | 'non-image'
  | 'metrics';

/** Every kind, in the order the report lists them. */
export const KINDS: readonly Kind[] = [
  'upload',
  'upload-chunked',
  'over-limit',
  'over-limit-chunked',
  'reset',
  'slow',
  'non-image',
  'metrics',
];

/**
 * How a request ended:
 * - `response`: a full response arrived (status line, headers and the whole body);
 * - `client-reset`: the client destroyed its socket on purpose (the `reset` kind);
 * - `deadline`: no full response before the request's deadline (the client gave up);
 * - `conn-error`: the connection failed or closed before a full response (refused, reset, closed
 *   mid-response) and the service's log does not explain it;
 * - `answer-lost`: a connection error, but the service's log shows it answered (a refusal with
 *   `connection: close` while the client was still sending, reset before the client read it);
 * - `service-reset`: a connection error, and the service's log shows it gave up on the request
 *   without answering (a slabio error destroyed the request).
 */
export type OutcomeClass =
  | 'response'
  | 'client-reset'
  | 'deadline'
  | 'conn-error'
  | 'answer-lost'
  | 'service-reset';

/** One request as the load generator saw it. Times are ms since the soak started. */
export interface Outcome {
  /** Sent as `x-request-id`, so the service's log can be matched with it. */
  id: number;
  kind: Kind;
  /** The service instance it was sent to (1 for the first, +1 per restart). */
  instance: number;
  startMs: number;
  endMs: number;
  outcome: OutcomeClass;
  /** HTTP status of a full response. */
  status?: number;
  /** Why it failed (an errno code or a short text), for anything but a full response. */
  error?: string;
}

/** Bytes in a mebibyte. */
export const MiB = 1024 * 1024;
