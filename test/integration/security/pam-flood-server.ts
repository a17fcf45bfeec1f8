// The PAM socket server of the node daemon (node-daemon/src/pam/server.ts) with its default
// limits, alone in a process so a test can flood it and read its RSS from /proc. Prints "ready".
import { startPamServer } from '../../../node-daemon/src/pam/server.js';
import { DEFAULT_CONFIG } from '../../../crds/api/index.js';

const socketPath = process.argv[2];
const now = Date.now();
const srv = await startPamServer({
  socketPath,
  getView: () => ({ node: 'n1', entries: [{ booking: 'alice/bk1', uid: 'x', user: 'alice', start: now - 60_000, end: now + 3_600_000 }], config: DEFAULT_CONFIG, syncedAt: now }),
  lookupUser: (n: string) => ({ name: n, uid: ({ alice: 1001, bob: 1002 } as Record<string, number>)[n] }),
});
process.on('SIGTERM', () => void srv.close().then(() => process.exit(0)));
process.stdout.write('ready\n');
