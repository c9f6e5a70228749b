/** What must never appear in an answer: stack frames, source or install paths. */
const INTERNALS: ReadonlyArray<[string, RegExp]> = [
  ['a stack frame', /\bat [^\s()]+ \(|^\s*at \S+:\d+:\d+/m],
  ['a source path', /\/work\/|\.ts:\d|\.js:\d/],
  ['node_modules', /node_modules/],
  ['an error class dump', /\b(?:TypeError|RangeError|ReferenceError|SyntaxError): /],
];

/** The internals found in an answer's text, by name; empty when it is clean. */
export function internalsIn(text: string): string[] {
  return INTERNALS.filter(([, pattern]) => pattern.test(text)).map(([name]) => name);
}

export interface ContractErrorBody {
  statusCode: number;
  error: string;
  message: string;
  requestId: string;
}

/**
 * Why `text` is not CONTRACT §2's error body for `status`: `undefined` when it is. Returned rather than
 * asserted, so a caller checking thousands of answers can report every bad one at once.
 */
export function contractErrorProblem(status: number, text: string): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'body is not JSON';
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return 'body is not a JSON object';
  }
  const { statusCode, error, message, requestId } = body as Record<string, unknown>;
  if (statusCode !== status) {
    return `statusCode ${JSON.stringify(statusCode)} is not the HTTP status ${status}`;
  }
  if (typeof error !== 'string' || error === '') {
    return 'error is not a non-empty string';
  }
  if (typeof message !== 'string' || message === '') {
    return 'message is not a non-empty string';
  }
  if (typeof requestId !== 'string' || requestId === '') {
    return 'requestId is not a non-empty string';
  }
  const extra = Object.keys(body).filter((key) => !['statusCode', 'error', 'message', 'requestId'].includes(key));
  if (extra.length > 0) {
    return `unexpected fields ${extra.join(', ')}`;
  }
  const leaks = internalsIn(text);
  return leaks.length > 0 ? `body shows ${leaks.join(', ')}` : undefined;
}

/** OpenAI's error body `{"error": {"message", "type", "param", "code"}}`, used by the `/v1` routes. */
export function openAiErrorProblem(_status: number, text: string): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'body is not JSON';
  }
  const error = (body as { error?: unknown } | null)?.error;
  if (typeof error !== 'object' || error === null) {
    return 'body has no error object';
  }
  const { message, type } = error as Record<string, unknown>;
  if (typeof message !== 'string' || message === '' || typeof type !== 'string') {
    return 'error.message or error.type is missing';
  }
  const leaks = internalsIn(text);
  return leaks.length > 0 ? `body shows ${leaks.join(', ')}` : undefined;
}

/** Asserts the contract's error body for `status`, with the text in the failure message. */
export async function expectContractError(response: Response, status: number): Promise<ContractErrorBody> {
  const text = await response.text();
  expect({ status: response.status, problem: contractErrorProblem(status, text), text }).toEqual({
    status,
    problem: undefined,
    text,
  });
  return JSON.parse(text) as ContractErrorBody;
}
