// Capacity detection: CPUs and memory from the OS, GPUs from nvidia-smi or /proc/driver.
import { cpus, totalmem } from 'node:os';
import { readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import type { NodeStatus } from '../../../crds/api/index.js';

/** Counts "GPU n: ..." lines of `nvidia-smi -L`. */
export function parseNvidiaSmiL(text: string): number {
  return text.split('\n').filter((l) => /^GPU \d+:/.test(l.trim())).length;
}

export function detectGpus(): number {
  try {
    const n = readdirSync('/proc/driver/nvidia/gpus').length;
    if (n > 0) return n;
  } catch {
    /* no NVIDIA driver */
  }
  try {
    return parseNvidiaSmiL(execFileSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return 0;
  }
}

export function detectCapacity(): NonNullable<NodeStatus['capacity']> {
  return { cpus: cpus().length, memoryBytes: totalmem(), gpus: detectGpus() };
}
