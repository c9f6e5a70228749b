import { DomainError } from '../common/errors';

/**
 * The caller aborted the model call (its client went away). Nobody is left to read the answer; the
 * status follows the common "client closed request" convention and only shows in logs and metrics.
 */
export class LlmCallAbortedError extends DomainError {
  readonly status = 499;
}
