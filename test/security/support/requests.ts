/** Request bodies the contract accepts, for tests that need a request to get through. */
export const VALID_CHAT = { message: 'Say hello.' };
export const VALID_RISK = { subject: 'ACME Corp', prices: [100, 101, 99.5, 98] };

/** An answer the risk service accepts from the model, so `/risk/assess` answers 200. */
export const VALID_ASSESSMENT = {
  score: 30,
  summary: 'Moderate risk.',
  factors: [{ name: 'falling prices', severity: 'medium', evidence: [] }],
};

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
}
