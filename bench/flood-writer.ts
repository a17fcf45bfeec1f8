// One flooding client for bench/flood.ts: logs in to etcd as USER once and puts booking values
// under PREFIX as fast as it can (IN_FLIGHT puts at a time), going on after refusals. Prints
// "written refused" when stopped with SIGTERM (and the refusals by message on stderr).
// Run: node --import tsx bench/flood-writer.ts ENDPOINT USER PASSWORD PREFIX
import { connect } from '../crds/api/index.js';

const [endpoint, user, password, prefix] = process.argv.slice(2);
const IN_FLIGHT = 16;
const client = connect({ endpoints: [endpoint], callTimeoutMs: 5000, auth: { username: user, password } });
let written = 0;
let refused = 0;
let stop = false;
const why = new Map<string, number>();
process.on('SIGTERM', () => {
  stop = true;
  process.stderr.write(`refusals: ${JSON.stringify([...why])}\n`);
  process.stdout.write(`${written} ${refused}\n`, () => process.exit(0));
});
let i = 0;
const one = async (): Promise<void> => {
  while (!stop) {
    const name = `${process.pid}-${++i}`;
    const value = JSON.stringify({ apiVersion: 'kiwi.dev/v1alpha1', kind: 'Booking', metadata: { name, namespace: user }, spec: { nodes: ['no-such-node'], duration: 60 } });
    try {
      await client.put(prefix + name).value(value).exec();
      written++;
    } catch (e) {
      refused++;
      const m = String((e as Error).message).split('\n')[0].slice(0, 80);
      why.set(m, (why.get(m) ?? 0) + 1);
    }
  }
};
await Promise.all(Array.from({ length: IN_FLIGHT }, one));
