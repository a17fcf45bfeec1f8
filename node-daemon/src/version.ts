// The daemon's version, reported in its heartbeat and in Node.status.daemonVersion.
export const DAEMON_VERSION = '0.1.0';
