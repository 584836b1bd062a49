export { type Capabilities, type Capability, capabilities } from './capabilities.js';
