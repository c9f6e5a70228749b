import { postJson as sharedPostJson } from '../../support/http';

/** Request bodies the contract accepts, for tests that need a request to get through. */
export const VALID_CHAT = { message: 'Say hello.' };
export const VALID_RISK = { subject: 'ACME Corp', prices: [100, 101, 99.5, 98] };

/** An answer the risk service accepts from the model, so `/risk/assess` answers 200. */
export const VALID_ASSESSMENT = {
  score: 30,
  summary: 'Moderate risk.',
  factors: [{ name: 'falling prices', severity: 'medium', evidence: [] }],
};

/** `postJson` of `test/support/http.ts` with `headers` added, given up after 30 s. */
export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return sharedPostJson(url, body, { headers, signal: AbortSignal.timeout(30_000) });
}
