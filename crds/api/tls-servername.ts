// Node 26 refuses an IP address as a TLS servername (ERR_INVALID_ARG_VALUE; older Node only
// warned, DEP0123, and sent no SNI), and @grpc/grpc-js (1.14, under etcd3) always passes the
// endpoint's host as servername. So an etcd endpoint like https://10.0.0.1:2379 failed on Node 26
// with "Setting the TLS ServerName to an IP address is not permitted". Drop an IP servername
// before tls.connect sees it, as older Node did: the certificate is still checked against the
// host (tls.checkServerIdentity falls back to options.host, an IP SAN). Loaded once by etcd.ts.
import tls from 'node:tls';
import { isIP } from 'node:net';

const MARK = Symbol.for('kiwi.tls-ip-servername');
const mod = tls as typeof tls & { [MARK]?: true };
if (!mod[MARK]) {
  const connect = tls.connect;
  mod.connect = function (this: unknown, ...args: unknown[]) {
    const opts = args.find((a) => a !== null && typeof a === 'object') as tls.ConnectionOptions | undefined;
    if (opts && typeof opts.servername === 'string' && isIP(opts.servername)) delete opts.servername;
    return (connect as (...a: unknown[]) => tls.TLSSocket).apply(this, args);
  } as typeof tls.connect;
  mod[MARK] = true;
}
