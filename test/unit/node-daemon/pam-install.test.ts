import { strict as assert } from 'node:assert';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installPam, uninstallPam, installHelper, pamBlock, sessionBlock, BEGIN, END, SESSION_BEGIN } from '../../../node-daemon/src/pam/install.js';

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

describe('installPam / uninstallPam (against a temporary root)', () => {
  let root: string;
  const pamFile = () => join(root, 'etc/pam.d/sshd');
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'kiwitest-pamroot-'));
    mkdirSync(join(root, 'etc/pam.d'), { recursive: true });
    mkdirSync(join(root, 'etc/ssh'), { recursive: true });
    writeFileSync(pamFile(), SSHD, { mode: 0o640 });
    writeFileSync(join(root, 'etc/ssh/sshd_config'), 'Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\n');
    installHelper({ root });
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    for (const p of ['usr/bin/socat', 'usr/bin/timeout']) writeFileSync(join(root, p), '', { mode: 0o755 });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('installs the helper 0755 and only once', () => {
    const p = join(root, 'usr/lib/kiwi/kiwi-pam-check');
    assert.equal(statSync(p).mode & 0o7777, 0o755);
    assert.match(readFileSync(p, 'utf8'), /^#!\/bin\/sh -\n/);
    assert.equal(installHelper({ root }).changed, false);
  });

  it('inserts the block before the first account line, keeps mode, makes a backup', () => {
    const r = installPam({ root });
    assert.equal(r.changed, true);
    assert.deepEqual(r.warnings, []);
    const text = readFileSync(pamFile(), 'utf8');
    const expected = SSHD.replace(
      '# Disallow non-root logins when /etc/nologin exists.\naccount',
      `# Disallow non-root logins when /etc/nologin exists.\n${BEGIN}\naccount [success=1 default=ignore] pam_succeed_if.so quiet uid eq 0\naccount required pam_exec.so stdout quiet /usr/lib/kiwi/kiwi-pam-check\n${END}\naccount`,
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
    assert.match(text, /pam_exec\.so stdout quiet \/usr\/lib\/kiwi\/kiwi-pam-check --timeout=1\.5 --socket=\/run\/kiwi\/pam\.sock\n/);
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

  it('refuses what could lock everyone out or inject PAM arguments', () => {
    assert.throws(() => installPam({ root, helperPath: '/usr/lib/kiwi/missing' }), /does not exist/);
    rmSync(join(root, 'usr/bin/socat'));
    assert.throws(() => installPam({ root }), /usr\/bin\/socat is missing/);
    writeFileSync(join(root, 'usr/bin/socat'), '', { mode: 0o755 });
    chmodSync(join(root, 'usr/lib/kiwi/kiwi-pam-check'), 0o644);
    assert.throws(() => installPam({ root }), /not executable/);
    chmodSync(join(root, 'usr/lib/kiwi/kiwi-pam-check'), 0o777);
    assert.throws(() => installPam({ root }), /writable by group or others/);
    chmodSync(join(root, 'usr/lib/kiwi/kiwi-pam-check'), 0o755);
    assert.throws(() => installPam({ root, helperPath: 'kiwi-pam-check' }), /must be absolute/);
    assert.throws(() => installPam({ root, helperArgs: ['--socket=/x y'] }), /invalid helper argument/);
    assert.throws(() => installPam({ root, helperArgs: ['--socket=/run/../etc'] }), /invalid helper argument/);
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
    assert.ok(text.endsWith(`@include common-password\n${SESSION_BEGIN}\nsession optional pam_exec.so quiet /usr/lib/kiwi/kiwi-pam-check --timeout=1\n# END kiwi-session\n`), text);
    assert.deepEqual(sessionBlock('/x/h', ['--timeout=1'])[1], 'session optional pam_exec.so quiet /x/h --timeout=1');
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
