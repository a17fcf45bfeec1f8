// Usage errors: wrong flags or arguments. An InvalidError, so exit code 2. Shared by verbs and
// printers (-o), kept apart so that printers need not import the verb machinery.
import { InvalidError } from '../../crds/api/errors.js';

export class UsageError extends InvalidError {}
export const usage = (message: string) => new UsageError(message);
