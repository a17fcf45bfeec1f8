// Bench: `systemd-analyze security --offline=yes` of each unit in manifests/systemd (with their
// drop-ins, laid out in a temporary root as on a host), next to the same program's unit with no
// hardening at all, rated in the same run. Goals (the year-in-a-lab issue): at most 5 for the
// node daemon (it needs root, kill, cgroup writes), at most 2 for the operator and kiwi-web.
// Run: npx tsx bench/systemd.ts
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { record } from './record.js';

const UNITS: [program: string, max: number][] = [
  ['kiwi-node-daemon', 5],
  ['kiwi-operator', 2],
  ['kiwi-web', 2],
];

const root = mkdtempSync(join(tmpdir(), 'kiwibench-systemd-'));
try {
  cpSync('/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true });
  cpSync('manifests/systemd', join(root, 'etc/systemd/system'), { recursive: true });
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  for (const [p] of UNITS) {
    writeFileSync(join(root, 'usr/bin', p), '#!/bin/sh\n', { mode: 0o755 });
    // the peer: the same program with nothing but ExecStart
    writeFileSync(join(root, 'etc/systemd/system', `${p}-plain.service`), `[Service]\nExecStart=/usr/bin/${p}\n`);
  }
  const exposure = (unit: string): number | undefined => {
    const r = spawnSync('systemd-analyze', ['security', '--offline=yes', `--root=${root}`, '--threshold=100', '--no-pager', unit], { encoding: 'utf8' });
    const m = /Overall exposure level for \S+: (\d+\.\d)/.exec(r.stdout ?? '');
    if (!m) console.error(`${unit}: no exposure level from systemd-analyze (${r.error?.message ?? r.stderr}); scripts/install-deps.sh installs it`);
    return m ? Number(m[1]) : undefined;
  };
  for (const [p, max] of UNITS) {
    const value = exposure(`${p}.service`);
    const plain = exposure(`${p}-plain.service`);
    if (value === undefined || plain === undefined) {
      process.exitCode = 1;
      continue;
    }
    console.log(`${(p + '.service').padEnd(26)} exposure ${value.toFixed(1)} (unhardened ${plain.toFixed(1)}; goal at most ${max}: ${value <= max ? 'OK' : 'MISSED'})`);
    record({ bench: 'systemd', figure: `${p}.service: systemd-analyze security --offline exposure (0 safe .. 10 unsafe)`, value, unit: '', peer: 'the same program, unit with no hardening', peerValue: plain, goal: `value <= ${max}`, met: value <= max });
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
