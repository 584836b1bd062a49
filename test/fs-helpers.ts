import { existsSync } from 'node:fs';

export const shmAvailable = process.platform === 'linux' && existsSync('/dev/shm');
