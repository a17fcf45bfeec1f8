// Structured logs: pino JSON on stderr (stdout stays free for a program's real output).
// Errors are logged with the object they concern: log.error({ err, booking: 'alice/bk1' }, '...').
import { pino, type Logger } from 'pino';

export type { Logger };

export function logger(name: string, level = process.env.KIWI_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { name, pid: process.pid } }, pino.destination(2));
}
