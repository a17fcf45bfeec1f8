// The settings precedence both programs use (crds/api/settings.ts):
// flag > environment (KIWI_*) > config file > built-in default.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { addConfigOption, configFileOf, parseSettings } from '../../../crds/api/settings.js';

const ENV = ['KIWI_TEST_ENDPOINTS', 'KIWI_TEST_LEASE_TTL', 'KIWI_TEST_METRICS_ADDR', 'KIWI_CONFIG'];

/** A command shaped like the programs': string, parsed-int and negated boolean options. */
function program(): Command {
  const int = (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`expected a positive whole number, got "${v}"`);
    return n;
  };
  const cmd = new Command('kiwitest-prog')
    .exitOverride()
    .addOption(new Option('--endpoints <urls>').env('KIWI_TEST_ENDPOINTS').default('http://127.0.0.1:2379'))
    .addOption(new Option('--lease-ttl <seconds>').env('KIWI_TEST_LEASE_TTL').default(3).argParser(int))
    .addOption(new Option('--metrics-addr <addr>').env('KIWI_TEST_METRICS_ADDR').default('127.0.0.1:9464'))
    .option('--no-pam', 'no PAM');
  return addConfigOption(cmd, '/nonexistent/kiwitest.yaml');
}

describe('settings: flag > environment > config file > default', () => {
  let dir: string;
  let saved: Record<string, string | undefined>;
  const file = (text: string) => {
    const p = join(dir, 'kiwi.yaml');
    writeFileSync(p, text);
    return p;
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kiwitest-settings-'));
    saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));
    for (const k of ENV) delete process.env[k];
  });
  afterEach(() => {
    for (const k of ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes the built-in defaults when nothing else is given (and no default file exists)', () => {
    const s = parseSettings<any>(program(), [], join(dir, 'absent.yaml'));
    assert.equal(s.file, undefined);
    assert.deepEqual({ e: s.opts.endpoints, t: s.opts.leaseTtl, m: s.opts.metricsAddr, p: s.opts.pam }, { e: 'http://127.0.0.1:2379', t: 3, m: '127.0.0.1:9464', p: true });
    assert.equal(s.sources.endpoints, 'default');
  });

  it('lets the config file override the defaults, converting values as the flag would', () => {
    const f = file('endpoints: [http://10.0.0.1:2379, http://10.0.0.2:2379]\nleaseTtl: 7\nmetricsAddr: none\npam: false\n');
    const s = parseSettings<any>(program(), ['--config', f], join(dir, 'absent.yaml'));
    assert.equal(s.file, f);
    assert.equal(s.opts.endpoints, 'http://10.0.0.1:2379,http://10.0.0.2:2379');
    assert.equal(s.opts.leaseTtl, 7);
    assert.equal(s.opts.metricsAddr, 'none');
    assert.equal(s.opts.pam, false);
    assert.equal(s.sources.leaseTtl, 'config');
  });

  it('lets the environment override the config file, and a flag override both', () => {
    const f = file('endpoints: http://file:2379\nleaseTtl: 7\nmetricsAddr: "127.0.0.1:1111"\n');
    process.env.KIWI_TEST_LEASE_TTL = '8';
    process.env.KIWI_TEST_METRICS_ADDR = '127.0.0.1:2222';
    const s = parseSettings<any>(program(), ['--config', f, '--metrics-addr', '127.0.0.1:3333'], join(dir, 'absent.yaml'));
    assert.equal(s.opts.endpoints, 'http://file:2379'); // file only
    assert.equal(s.opts.leaseTtl, 8); // env over file
    assert.equal(s.opts.metricsAddr, '127.0.0.1:3333'); // flag over env over file
    assert.deepEqual([s.sources.endpoints, s.sources.leaseTtl, s.sources.metricsAddr], ['config', 'env', 'cli']);
  });

  it('finds the file by --config, then KIWI_CONFIG, then the default path if it exists', () => {
    const def = file('leaseTtl: 5\n');
    const other = join(dir, 'other.yaml');
    writeFileSync(other, 'leaseTtl: 6\n');
    assert.equal(parseSettings<any>(program(), [], def).opts.leaseTtl, 5);
    process.env.KIWI_CONFIG = other;
    assert.equal(parseSettings<any>(program(), [], def).opts.leaseTtl, 6);
    assert.equal(parseSettings<any>(program(), [`--config=${def}`], def).opts.leaseTtl, 5);
    assert.deepEqual(configFileOf(['--config', 'x.yaml'], def, {}), { path: 'x.yaml', explicit: true });
    assert.equal(configFileOf([], join(dir, 'absent.yaml'), {}), undefined);
  });

  it('refuses an unknown key, naming it and the file', () => {
    const f = file('endpoints: http://x:2379\nleaseTTL: 3\n');
    assert.throws(() => parseSettings<any>(program(), ['--config', f], join(dir, 'absent.yaml')), (e: Error) => e.message.includes('unknown key "leaseTTL"') && e.message.includes(f) && e.message.includes('leaseTtl'));
  });

  it('refuses a bad value, naming the key; a missing named file; a file that is not a mapping', () => {
    assert.throws(() => parseSettings<any>(program(), ['--config', file('leaseTtl: -1\n')], ''), /"leaseTtl": expected a positive whole number/);
    assert.throws(() => parseSettings<any>(program(), ['--config', file('pam: "no"\n')], ''), /"pam" must be true or false/);
    assert.throws(() => parseSettings<any>(program(), ['--config', file('- a\n- b\n')], ''), /expected a mapping/);
    assert.throws(() => parseSettings<any>(program(), ['--config', join(dir, 'missing.yaml')], ''), /cannot read it/);
  });

  it('an empty file changes nothing', () => {
    const s = parseSettings<any>(program(), ['--config', file('# nothing yet\n')], '');
    assert.equal(s.opts.leaseTtl, 3);
  });
});
