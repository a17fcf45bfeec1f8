import assert from 'node:assert/strict';
import { convertKiwiConfig, zoneForOffset, LABEL_KEY } from '../../../kiwictl/src/cmd/import-kiwi/convert.js';
import { validateObject } from '../../../crds/api/validate.js';

describe('import-kiwi: old Kiwi config.json to Kiwi objects', () => {
  const old = {
    workers: {
      node1: ['node1.lab.example', 22],
      GPU_Box: ['10.0.0.7', '2222', '09:00-18:00,22:00-02:00', 'gpu'],
      bad: ['h'],
      w3: ['w3', 99999, '25:00-26:00', 'has space'],
    },
    worker_install_path: '/usr/lib/kiwi/',
    worker_shared_path: '/nfs/kiwi/',
    worker_ssh_bypass: ['root', 'admin', 'Bad User'],
    timezone: 8,
    colour: 'green',
  };

  it('makes valid Nodes, a ClusterConfig and a default Pool of every node', () => {
    const { objects, notes } = convertKiwiConfig(old);
    for (const o of objects) validateObject(o, 'converted');
    assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`), ['Node/node1', 'Node/gpu-box', 'Node/w3', 'ClusterConfig/default', 'Pool/kiwi']);
    assert.deepEqual((objects[4] as any).spec, { default: true, nodeSelector: '', state: 'Open', order: 'FIFO' });
    assert.ok(notes.includes('pool kiwi: every node, the default pool, open to everyone in arrival order (the original Kiwi had no limits); add limits with kiwictl edit pool kiwi'));
    const gpu = objects[1] as any;
    assert.deepEqual(gpu.spec, {
      address: '10.0.0.7',
      sshPort: 2222,
      reservableWindows: [
        { start: '09:00', end: '18:00', timeZone: 'Etc/GMT-8' },
        { start: '22:00', end: '02:00', timeZone: 'Etc/GMT-8' },
      ],
    });
    assert.deepEqual(gpu.metadata.labels, { [LABEL_KEY]: 'gpu' });
    assert.deepEqual((objects[3] as any).spec.sshBypassUsers, ['admin']);
  });

  it('says what it could not carry over', () => {
    const { notes } = convertKiwiConfig(old);
    const expect = [
      /workers\.GPU_Box: renamed to node "gpu-box"/,
      /workers\.bad: skipped/,
      /workers\.w3: port 99999 is not a port/,
      /workers\.w3: time window "25:00-26:00" is not hh:mm-hh:mm/,
      /workers\.w3: label "has space" is not a valid label value/,
      /worker_ssh_bypass: "root" is always allowed/,
      /worker_ssh_bypass: "Bad User" is not a user name/,
      /worker_shared_path: not needed/,
      /colour: not understood/,
    ];
    for (const re of expect) assert.ok(notes.some((n) => re.test(n)), `missing note ${re}: ${notes.join(' | ')}`);
  });

  it('maps UTC offsets to IANA zones (whose sign is inverted)', () => {
    assert.equal(zoneForOffset(8), 'Etc/GMT-8');
    assert.equal(zoneForOffset(-5), 'Etc/GMT+5');
    assert.equal(zoneForOffset(0), 'UTC');
    assert.equal(zoneForOffset(5.5), undefined);
    assert.ok(convertKiwiConfig({ workers: {}, timezone: 5.5 }).notes.some((n) => /5\.5 hours cannot be written/.test(n)));
  });

  it('refuses what is not a Kiwi config', () => {
    assert.throws(() => convertKiwiConfig([]), /not a Kiwi config/);
    assert.throws(() => convertKiwiConfig({ workers: 3 }), /"workers" must be an object/);
  });
});
