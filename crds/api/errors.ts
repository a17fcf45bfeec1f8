// Typed errors. Every error says what it concerns and, where it can, what to do next.

export class KiwiError extends Error {
  /** The process exit code kiwictl uses for this kind of error. */
  readonly exitCode: number = 1;
}

/** The input is wrong: nothing was written. */
export class InvalidError extends KiwiError {
  override readonly exitCode = 2;
  constructor(message: string, readonly problems: string[] = [message]) {
    super(message);
  }
}

export class NotFoundError extends KiwiError {
  override readonly exitCode = 3;
}

export class AlreadyExistsError extends KiwiError {
  override readonly exitCode = 4;
}

/** A compare-and-swap lost: somebody else changed the object first. Re-read, then decide. */
export class ConflictError extends KiwiError {
  override readonly exitCode = 5;
}

/** etcd could not be reached or did not answer in time. */
export class UnavailableError extends KiwiError {
  override readonly exitCode = 6;
}

export class ForbiddenError extends KiwiError {
  override readonly exitCode = 7;
}

/** A wait ran out of time. */
export class TimeoutError extends KiwiError {
  override readonly exitCode = 8;
}

/**
 * The cluster said no, or the booking is past the point where the verb makes sense: a booking
 * Rejected or Busy, an extend refused, kill or extend of an Expired booking, a wait for a state
 * that can no longer come. Exit code 9; HTTP 409 Refused in kiwi-web.
 */
export class RefusedError extends KiwiError {
  override readonly exitCode = 9;
}
