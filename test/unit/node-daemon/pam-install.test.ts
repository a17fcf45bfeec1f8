import { strict as assert } from 'node:assert';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { installPam, uninstallPam, installHelper, pamBlock, sessionBlock, BEGIN, END, SESSION_BEGIN } from '../../../node-daemon/src/pam/install.js';

const MODULE = 'usr/lib/kiwi/pam_kiwi.so';

// Debian bookworm's /etc/pam.d/sshd, shortened.
const SSHD = `# PAM configuration for the Secure Shell service

# Standard Un*x authentication.
@include common-auth

# Disallow non-root logins when /etc/nologin exists.
account    required     pam_nologin.so

# Standard Un*x authorization.
@include common-account

session [success=ok ignore=ignore module_unknown=ignore default=bad]        pam_selinux.so close
@include common-session
@include common-password
`;

describe('installPam / uninstallPam (against a temporary root)', function () {
  this.timeout(30_000);
  let root: string;
  let built: string; // one build of the module for every test (gcc takes a fraction of a second)
  before(function () {
    if (!existsSync('/usr/include/security/pam_modules.h')) {
      console.log('    (skipped: the PAM headers are missing: apt-get install -y gcc libpam0g-dev)');
      this.skip();
    }
    built = mkdtempSync(join(tmpdir(), 'kiwitest-pambuild-'));
    installHelper({ root: built });
  });
  after(() => built && rmSync(built, { recursive: true, force: true }));
  const pamFile = () => join(root, 'etc/pam.d/sshd');
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'kiwitest-pamroot-'));
    mkdirSync(join(root, 'etc/pam.d'), { recursive: true });
    mkdirSync(join(root, 'etc/ssh'), { recursive: true });
    writeFileSync(pamFile(), SSHD, { mode: 0o640 });
    writeFileSync(join(root, 'etc/ssh/sshd_config'), 'Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\n');
    mkdirSync(join(root, 'usr/lib/kiwi'), { recursive: true });
    copyFileSync(join(built, MODULE), join(root, MODULE));
    chmodSync(join(root, MODULE), 0o644);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('builds the module 0644 (a shared object exporting the account and session hooks) and only once', () => {
    const p = join(built, MODULE);
    assert.equal(statSync(p).mode & 0o7777, 0o644);
    assert.equal(readFileSync(p).subarray(0, 4).toString('latin1'), '\x7fELF');
    const syms = execFileSync('nm', ['-D', '--defined-only', p], { encoding: 'utf8' });
    for (const f of ['pam_sm_acct_mgmt', 'pam_sm_open_session', 'pam_sm_authenticate']) assert.match(syms, new RegExp(`\\b${f}\\b`));
    assert.equal(installHelper({ root: built }).changed, false);
  });

  it('inserts the block before the first account line, keeps mode, makes a backup', () => {
    const r = installPam({ root });
    assert.equal(r.changed, true);
    assert.deepEqual(r.warnings, []);
    const text = readFileSync(pamFile(), 'utf8');
    const expected = SSHD.replace(
      '# Disallow non-root logins when /etc/nologin exists.\naccount',
      `# Disallow non-root logins when /etc/nologin exists.\n${BEGIN}\naccount [success=1 default=ignore] pam_succeed_if.so quiet uid eq 0\naccount required /usr/lib/kiwi/pam_kiwi.so\n${END}\naccount`,
    );
    assert.equal(text, expected);
    assert.equal(statSync(pamFile()).mode & 0o777, 0o640);
    assert.equal(readFileSync(r.backup!, 'utf8'), SSHD);
  });

  it('is idempotent, and replaces its own block when the arguments change', () => {
    installPam({ root });
    const once = readFileSync(pamFile(), 'utf8');
    assert.equal(installPam({ root }).changed, false);
    assert.equal(readFileSync(pamFile(), 'utf8'), once);
    const r = installPam({ root, helperArgs: ['--timeout=1.5', '--socket=/run/kiwi/pam.sock'] });
    assert.equal(r.changed, true);
    const text = readFileSync(pamFile(), 'utf8');
    assert.equal(text.split(BEGIN).length, 2);
    assert.match(text, /\naccount required \/usr\/lib\/kiwi\/pam_kiwi\.so --timeout=1\.5 --socket=\/run\/kiwi\/pam\.sock\n/);
  });

  it('uninstall restores the original text exactly, and is idempotent', () => {
    installPam({ root });
    assert.equal(uninstallPam({ root }).changed, true);
    assert.equal(readFileSync(pamFile(), 'utf8'), SSHD);
    assert.equal(uninstallPam({ root }).changed, false);
  });

  it('works with only @include common-account, and other service names', () => {
    writeFileSync(join(root, 'etc/pam.d/login2'), '@include common-auth\n@include common-account\n');
    installPam({ root, service: 'login2' });
    assert.equal(readFileSync(join(root, 'etc/pam.d/login2'), 'utf8'), ['@include common-auth', ...pamBlock(), '@include common-account', ''].join('\n'));
  });

  it('refuses a source that is not the module, naming it', () => {
    writeFileSync(join(root, 'x.c'), 'int main(void) { return 0; }\n');
    assert.throws(() => installHelper({ root, source: join(root, 'x.c') }), /is not the pam_kiwi module's source/);
  });

  it('refuses what could lock everyone out or inject PAM arguments', () => {
    assert.throws(() => installPam({ root, helperPath: '/usr/lib/kiwi/missing' }), /does not exist/);
    chmodSync(join(root, MODULE), 0o664);
    assert.throws(() => installPam({ root }), /writable by group or others/);
    chmodSync(join(root, MODULE), 0o644);
    mkdirSync(join(root, 'usr/lib/kiwi/dir.so'));
    assert.throws(() => installPam({ root, helperPath: '/usr/lib/kiwi/dir.so' }), /not a regular file/);
    assert.throws(() => installPam({ root, helperPath: 'pam_kiwi.so' }), /must be absolute/);
    assert.throws(() => installPam({ root, helperArgs: ['--socket=/x y'] }), /invalid module argument/);
    assert.throws(() => installPam({ root, helperArgs: ['--socket=/run/../etc'] }), /invalid module argument/);
    assert.throws(() => installPam({ root, service: '../passwd' }), /invalid PAM service name/);
    assert.throws(() => installPam({ root, service: 'nosuch' }), /cannot read/);
    writeFileSync(join(root, 'etc/pam.d/noacct'), '@include common-auth\n');
    assert.throws(() => installPam({ root, service: 'noacct' }), /has no account stack/);
    writeFileSync(join(root, 'etc/pam.d/half'), `${BEGIN}\naccount required pam_permit.so\n`);
    assert.throws(() => installPam({ root, service: 'half' }), /no "# END kiwi"/);
    assert.throws(() => uninstallPam({ root, service: 'half' }), /no "# END kiwi"/);
    assert.equal(readFileSync(pamFile(), 'utf8'), SSHD);
    assert.equal(existsSync(pamFile() + '.kiwi-backup'), false);
  });

  it('with session: appends the session hook last, idempotently; without it takes it out again', () => {
    const r = installPam({ root, session: true, helperArgs: ['--timeout=1'] });
    assert.equal(r.changed, true);
    const text = readFileSync(pamFile(), 'utf8');
    assert.ok(text.endsWith(`@include common-password\n${SESSION_BEGIN}\nsession optional /usr/lib/kiwi/pam_kiwi.so --timeout=1\n# END kiwi-session\n`), text);
    assert.deepEqual(sessionBlock('/x/h', ['--timeout=1'])[1], 'session optional /x/h --timeout=1');
    assert.equal(installPam({ root, session: true, helperArgs: ['--timeout=1'] }).changed, false);
    assert.equal(readFileSync(pamFile(), 'utf8'), text);
    assert.equal(installPam({ root, helperArgs: ['--timeout=1'] }).changed, true);
    assert.ok(!readFileSync(pamFile(), 'utf8').includes('kiwi-session'));
    installPam({ root, session: true });
    assert.equal(uninstallPam({ root }).changed, true);
    assert.equal(readFileSync(pamFile(), 'utf8'), SSHD);
  });

  it('warns when sshd does not use PAM', () => {
    writeFileSync(join(root, 'etc/ssh/sshd_config'), 'UsePAM no\n');
    assert.match(installPam({ root }).warnings.join('\n'), /does not say "UsePAM yes"/);
  });
});

describe('the documented manual lines', () => {
  it('kiwi-account.pam is what installPam writes', () => {
    assert.equal(readFileSync('node-daemon/pam/kiwi-account.pam', 'utf8'), pamBlock().join('\n') + '\n');
  });
});
