// The daemon's side of power saving: reading ethtool's wake-on-LAN lines, what to do about them,
// and when it powers its own machine off.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_POWER } from '../../../crds/api/index.js';
import { parseEthtool, wolStep } from '../../../node-daemon/src/decide/wol.js';
import { selfPowerOffDue } from '../../../node-daemon/src/decide/power.js';
import { defaultRouteInterface } from '../../../node-daemon/src/register/wol.js';

const ETHTOOL = `Settings for eno1:
\tSupported ports: [ TP ]
\tSpeed: 1000Mb/s
\tSupports Wake-on: pumbg
\tWake-on: d
\tLink detected: yes
`;

describe('node daemon: wake-on-LAN and power off', () => {
  it('reads what the card supports and what is set', () => {
    assert.deepEqual(parseEthtool(ETHTOOL), { supports: 'pumbg', wakeOn: 'd' });
    assert.equal(parseEthtool('Settings for lo:\n\tLink detected: yes\n'), undefined);
  });

  it('sets wol g when the card supports it and it is off; reports it on, or not supported', () => {
    assert.deepEqual(wolStep('eno1', parseEthtool(ETHTOOL)), { set: true });
    const on = wolStep('eno1', { supports: 'pumbg', wakeOn: 'g' });
    assert.equal(on.set === false && on.condition.status, 'True');
    const no = wolStep('lo', undefined);
    assert.equal(no.set === false && no.condition.reason, 'NotSupported');
    const noG = wolStep('eth0', { supports: 'pumb', wakeOn: 'd' });
    assert.match(noG.set === false ? noG.condition.message! : '', /eth0 does not support wake-on-LAN by magic packet \(ethtool: Supports Wake-on: pumb\)/);
  });

  it('finds the default route interface', () => {
    const d = mkdtempSync(join(tmpdir(), 'kiwitest-route-'));
    try {
      const f = join(d, 'route');
      writeFileSync(f, 'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n' + 'docker0\t0011A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n' + 'eno1\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\n');
      assert.equal(defaultRouteInterface(f), 'eno1');
      assert.equal(defaultRouteInterface(join(d, 'none')), undefined);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('powers itself off once per decision, only for wakeOnLan without a powerOff command, never while booked', () => {
    const now = Date.parse('2026-03-02T08:00:00Z');
    const st = { phase: 'PoweringOff' as const, power: { lastOffTime: '2026-03-02T07:59:59.000Z' } };
    const s = { ...DEFAULT_POWER, enabled: true };
    assert.equal(selfPowerOffDue(st, s, [], now, undefined), '2026-03-02T07:59:59.000Z');
    assert.equal(selfPowerOffDue(st, s, [], now, '2026-03-02T07:59:59.000Z'), undefined);
    assert.equal(selfPowerOffDue(st, { ...s, commands: { ...s.commands, powerOff: ['/bin/off'] } }, [], now, undefined), undefined);
    assert.equal(selfPowerOffDue(st, { ...s, action: 'commands' }, [], now, undefined), undefined);
    assert.equal(selfPowerOffDue({ phase: 'Off' }, s, [], now, undefined), undefined);
    const held = [{ booking: 'a/b', uid: 'u', user: 'a', start: now - 1000, end: now + 1000 }];
    assert.equal(selfPowerOffDue(st, s, held, now, undefined), undefined);
  });
});
