// The PAM socket: answers "may USER log in now?" from the daemon's local view.
//
// Protocol, one exchange per connection, ASCII lines ending in "\n":
//   request:  USER                      a user name, at most MAX_NAME characters of [A-Za-z0-9_.@-],
//                                       not starting with '-', '.' or '@'
//   reply:    allow OUTCOME             e.g. "allow booked", "allow admin"
//             deny REASON               REASON is the one line shown to the user
//   request:  adopt USER PID            the session hook: move PID (the login's sshd process) into
//                                       the cgroup of USER's active booking
//   reply:    ok | skip WHY             (the helper ignores it: adoption never blocks a login)
//   then the server closes the connection. No reply at all (closed without a line) means "cannot
//   decide": the helper then applies pamFailMode, exactly as when the daemon is down.
//
// Bounded: the socket is 0600 root; a request longer than maxRequestBytes is refused; a
// connection that has not sent a full line within timeoutMs of connecting is dropped; at most maxConnections are
// served at once (excess connections are closed at once by the kernel-side accept path); any
// garbage gets a deny line or a close, never an exception that escapes.
import { createServer, createConnection, type Server, type Socket } from 'node:net';
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../../../crds/api/index.js';
import type { LocalView } from '../view.js';
import { oneLine, pamDecision, type PamDecision, type PamUser } from '../decide/pam.js';
import { nssPamUser, type PamUserLookup } from './passwd.js';

export const DEFAULT_PAM_SOCKET = '/run/kiwi/pam.sock';
export const MAX_NAME = 64;
/** The user names the socket and the helper accept; anything else is denied before any lookup. */
export const USER_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$/;
const ADOPT_RE = /^adopt ([A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}) ([1-9][0-9]{0,9})$/;

export interface PamServerOptions {
  socketPath: string;
  getView: () => LocalView | undefined;
  log?: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
  /** Defaults to a cached /etc/passwd reader. */
  lookupUser?: PamUserLookup;
  now?: () => number;
  timeoutMs?: number;
  maxRequestBytes?: number;
  maxConnections?: number;
  /** The session hook; without it `adopt` requests get `skip unsupported`. Returns the reply line. */
  adopt?: (user: PamUser, pid: number) => string;
  /** Told of every login check answered (metrics): the decision's outcome, or "invalid" / "error". */
  onDecision?: (d: { allow: boolean; outcome: string }) => void;
}

export interface PamServer {
  socketPath: string;
  close(): Promise<void>;
  /** For process 'exit' handlers: stops listening and removes the socket file if it is still ours. */
  closeSync(): void;
}

/** Parses one request line and decides; exported for tests and the bench. */
export function answer(line: string, decide: (name: string) => PamDecision): string {
  const name = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (!USER_NAME_RE.test(name)) return 'deny kiwi: invalid user name\n';
  const d = decide(name);
  return d.allow ? `allow ${d.outcome}\n` : `deny ${d.reason}\n`;
}

export async function startPamServer(opts: PamServerOptions): Promise<PamServer> {
  const { socketPath, getView } = opts;
  const log = opts.log;
  const lookupUser = opts.lookupUser ?? nssPamUser();
  const now = opts.now ?? Date.now;
  const timeoutMs = opts.timeoutMs ?? 1000;
  const maxRequestBytes = opts.maxRequestBytes ?? MAX_NAME + 20;

  const decide = (name: string): PamDecision => pamDecision(lookupUser(name), getView(), now());
  const told = (allow: boolean, outcome: string) => {
    try {
      opts.onDecision?.({ allow, outcome });
    } catch {
      /* counting never changes an answer */
    }
  };

  const onConnection = (sock: Socket) => {
    let buf = '';
    let done = false;
    const finish = (reply: string | undefined) => {
      if (done) return;
      done = true;
      if (reply === undefined) sock.destroy();
      else sock.end(reply);
    };
    sock.setEncoding('latin1');
    // A deadline for the whole exchange, not an idle timeout: a client trickling bytes is cut too.
    const deadline = setTimeout(() => {
      log?.debug('pam: request timed out');
      sock.destroy();
    }, timeoutMs);
    sock.on('close', () => clearTimeout(deadline));
    sock.on('error', () => sock.destroy()); // a client that went away: nothing to do
    const handle = (line: string) => {
      try {
        if (line.startsWith('adopt ')) {
          const m = ADOPT_RE.exec(line.endsWith('\r') ? line.slice(0, -1) : line);
          if (!m) return finish('skip invalid request\n');
          if (!opts.adopt) return finish('skip unsupported\n');
          const reply = opts.adopt(lookupUser(m[1]), Number(m[2]));
          log?.info({ user: m[1], pid: Number(m[2]), reply }, 'pam: session adoption');
          return finish(oneLine(reply, 200) + '\n');
        }
        let decided: PamDecision | undefined;
        const reply = answer(line, (name) => (decided = decide(name)));
        told(decided?.allow ?? false, decided?.outcome ?? 'invalid');
        if (reply.startsWith('deny')) log?.info({ user: line.slice(0, MAX_NAME + 1), reply: reply.trim() }, 'pam: login denied');
        else log?.debug({ user: line, reply: reply.trim() }, 'pam: login allowed');
        finish(reply);
      } catch (err) {
        // Cannot decide: say nothing, so that the helper applies pamFailMode.
        log?.error({ err }, 'pam: decision failed');
        if (!line.startsWith('adopt ')) told(false, 'error');
        finish(undefined);
      }
    };
    sock.on('data', (chunk: string) => {
      if (done) return;
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl >= 0) return handle(buf.slice(0, nl));
      if (buf.length > maxRequestBytes) {
        told(false, 'invalid');
        finish('deny kiwi: request too long\n');
      }
    });
    sock.on('end', () => {
      // The client half-closed without a newline: take what it sent as the request.
      if (!done) {
        if (buf.length > 0 && buf.length <= maxRequestBytes) handle(buf);
        else finish(undefined);
      }
    });
  };

  const server: Server = createServer({ allowHalfOpen: true }, onConnection);
  server.maxConnections = opts.maxConnections ?? 64;
  server.on('error', (err) => log?.error({ err }, 'pam: socket server error'));

  mkdirSync(dirname(socketPath), { recursive: true, mode: 0o755 });
  await removeStaleSocket(socketPath);
  // Bind with a umask that leaves the socket 0600 from its first instant, then chmod anyway.
  const old = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(old);
  }
  chmodSync(socketPath, 0o600);
  const ino = lstatSync(socketPath).ino;
  log?.info({ socketPath }, 'pam: socket listening');

  return {
    socketPath,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // server.close unlinks the socket file itself once the server stops listening.
      }),
    closeSync: () => {
      try {
        if (lstatSync(socketPath).ino === ino) unlinkSync(socketPath);
      } catch {
        /* gone already */
      }
      server.close();
    },
  };
}

/** Removes a socket file left by a dead daemon; refuses to steal one that a live daemon serves. */
async function removeStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket; move it away and start again`);
  const live = await new Promise<boolean>((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (live) throw new Error(`another process serves PAM checks on ${path}; stop it first (is another kiwi-node-daemon running?)`);
  unlinkSync(path);
}
