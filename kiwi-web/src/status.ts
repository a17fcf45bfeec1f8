// Errors as the Kubernetes API answers them: a Status object with an HTTP code and a reason.
// The message is the one kiwictl prints for the same error (crds/api errors carry it), so a
// notebook reads the same words as a terminal. Pure.
import { AlreadyExistsError, ConflictError, ForbiddenError, InvalidError, NotFoundError, RefusedError, TimeoutError, UnavailableError } from '../../crds/api/errors.js';

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  status: 'Failure';
  message: string;
  reason: string;
  code: number;
  details?: { causes: { message: string }[] };
}

/** An error a handler raises on purpose: its own code and reason. */
export class HttpError extends Error {
  constructor(readonly code: number, readonly reason: string, message: string) {
    super(message);
  }
}

export function statusOf(err: unknown): Status {
  const s = (code: number, reason: string, message: string, causes?: string[]): Status => ({
    kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code, ...(causes && causes.length > 1 ? { details: { causes: causes.map((m) => ({ message: m })) } } : {}),
  });
  if (err instanceof HttpError) return s(err.code, err.reason, err.message);
  if (err instanceof InvalidError) return s(422, 'Invalid', err.message, err.problems);
  if (err instanceof NotFoundError) return s(404, 'NotFound', err.message);
  if (err instanceof AlreadyExistsError) return s(409, 'AlreadyExists', err.message);
  if (err instanceof ConflictError) return s(409, 'Conflict', err.message);
  // the cluster would refuse (fixed slot taken, no queue and busy, already ended): kiwictl's exit 9
  if (err instanceof RefusedError) return s(409, 'Refused', err.message);
  if (err instanceof ForbiddenError) return s(403, 'Forbidden', err.message);
  if (err instanceof UnavailableError) return s(503, 'ServiceUnavailable', err.message);
  if (err instanceof TimeoutError) return s(504, 'Timeout', err.message);
  return s(500, 'InternalError', err instanceof Error ? err.message : String(err));
}
