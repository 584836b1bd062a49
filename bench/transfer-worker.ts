/**
 * The alternative the workers benchmark compares the shared-block path with: a worker renders a
 * chunk of codes into fresh ArrayBuffers and transfers them back; the main thread copies each into
 * a pool lease. Run as a `Worker` by `workers.bench.ts`.
 */
import { parentPort } from 'node:worker_threads';
import type { QrTaskInput } from '../src/integrations/qrcode/worker-task.js';
import { renderQrSized } from '../src/integrations/qrcode/worker-task.js';

parentPort?.on('message', (inputs: QrTaskInput[]) => {
  const buffers = inputs.map((input) => {
    const out = renderQrSized(input);
    const memory = new ArrayBuffer(out.length);
    out.write(new Uint8Array(memory));
    return memory;
  });
  parentPort?.postMessage(buffers, buffers);
});
