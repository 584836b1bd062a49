export type { RenderWorkersOptions } from './options.js';
export { RenderWorkers, type RenderWorkersStats } from './render-workers.js';
