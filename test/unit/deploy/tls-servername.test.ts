// crds/api/tls-servername.ts: on Node 26 an IP servername is refused by tls.connect; Kiwi drops it
// (as older Node did), and the server's certificate is still checked against the IP.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import '../../../crds/api/tls-servername.js';

function cert(dir: string, name: string, san: string): { key: Buffer; cert: Buffer } {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '1', '-subj', `/CN=${name}`, '-addext', `subjectAltName=${san}`], { cwd: dir, stdio: 'ignore' });
  return { key: readFileSync(join(dir, `${name}.key`)), cert: readFileSync(join(dir, `${name}.crt`)) };
}

/** Connects as grpc-js does (servername = the endpoint's host); resolves 'ok' or the error's message. */
async function connectByIp(c: { key: Buffer; cert: Buffer }): Promise<string> {
  const srv = tls.createServer({ key: c.key, cert: c.cert }, (s) => s.end());
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as { port: number };
  try {
    return await new Promise((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port, servername: '127.0.0.1', ca: c.cert }, () => {
        s.destroy();
        resolve('ok');
      });
      s.on('error', (e) => resolve(e.message));
    });
  } finally {
    srv.close();
  }
}

describe('TLS to an etcd endpoint given as an IP address', function () {
  this.timeout(20_000);
  const dir = mkdtempSync(join(tmpdir(), 'kiwitest-tlsname-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('connects when the certificate names the IP', async () => {
    assert.equal(await connectByIp(cert(dir, 'ip', 'IP:127.0.0.1')), 'ok');
  });
  it('still refuses a certificate that does not name it', async () => {
    assert.match(await connectByIp(cert(dir, 'dns', 'DNS:etcd.example')), /IP: 127\.0\.0\.1 is not in the cert's list/);
  });
});
