// Capacity detection: CPUs and memory from the OS, GPUs from nvidia-smi or /proc/driver.
import { cpus, totalmem } from 'node:os';
import { readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import type { NodeStatus } from '../../../crds/api/index.js';
import { systemTool } from '../../../crds/api/tools.js';

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
  const smi = systemTool('nvidia-smi'); // by absolute path, never through PATH (crds/api/tools.ts)
  if (!smi) return 0;
  try {
    return parseNvidiaSmiL(execFileSync(smi, ['-L'], { encoding: 'utf8', timeout: 5000, env: {}, cwd: '/', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return 0;
  }
}

export function detectCapacity(): NonNullable<NodeStatus['capacity']> {
  return { cpus: cpus().length, memoryBytes: totalmem(), gpus: detectGpus() };
}
