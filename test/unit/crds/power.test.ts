// ClusterConfig spec.power: what validation refuses (naming the field and the fix), and the
// settings in force with their defaults.
import assert from 'node:assert/strict';
import { effectivePower, type ClusterConfig } from '../../../crds/api/index.js';
import { validateObject } from '../../../crds/api/validate.js';

const cc = (power: unknown) => ({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'ClusterConfig', metadata: { name: 'default' }, spec: { power } });

describe('ClusterConfig spec.power', () => {
  it('turns durations into seconds and fills in the defaults', () => {
    const o = validateObject(cc({ enabled: true, idleTime: '1h', bootTime: '3m', resumeTimeout: '10m', action: 'commands', commands: { powerOn: ['/usr/sbin/ipmitool', 'on'], powerOff: ['/usr/sbin/ipmitool', 'off'], timeout: '30s' } }), 'cc.yaml') as ClusterConfig;
    const p = effectivePower(o);
    assert.deepEqual([p.enabled, p.idleTime, p.bootTime, p.resumeTimeout, p.commands.timeout, p.suspendRate, p.resumeRate, p.keepIdle], [true, 3600, 180, 600, 30, 60, 300, 0]);
    assert.equal(effectivePower(undefined).enabled, false);
  });

  it('refuses a command that is not an absolute path, a resume timeout shorter than the boot, a bad selector', () => {
    const bad = (power: unknown, re: RegExp) => assert.throws(() => validateObject(cc(power), 'cc.yaml'), re);
    bad({ commands: { powerOff: ['ipmitool'] } }, /spec\.power\.commands\.powerOff: the first item must be the command's absolute path/);
    bad({ bootTime: '10m', resumeTimeout: '5m' }, /spec\.power\.resumeTimeout: 300s is shorter than bootTime 600s/);
    bad({ excludeSelector: 'role in (a' }, /spec\.power\.excludeSelector: label selector/);
    bad({ enabled: true, action: 'commands' }, /spec\.power\.commands\.powerOn: required with action commands/);
    bad({ idleTime: 'soon' }, /spec\.power\.idleTime/);
  });

  it('a stored value past validation that cannot be used turns power saving off rather than guess', () => {
    assert.equal(effectivePower({ ...cc({ enabled: true, excludeSelector: 'a in (' }) } as ClusterConfig).enabled, false);
  });
});
