import { RunningApp, startApp } from './support/app';

describe('the application', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp();
  });

  afterAll(async () => {
    await running.close();
  });

  it('answers /health/live with 200, a new request id and the response time', async () => {
    const response = await fetch(`${running.url}/health/live`);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('x-response-time')).toMatch(/^\d+\.\d{3}ms$/);
    const body = (await response.json()) as { status: string; info: Record<string, { status: string }> };
    expect(body.status).toBe('ok');
    expect(body.info.process.status).toBe('up');
  });

  it("echoes the caller's request id", async () => {
    const response = await fetch(`${running.url}/health/live`, { headers: { 'x-request-id': 'trace-42' } });
    expect(response.headers.get('x-request-id')).toBe('trace-42');
  });

  it('replaces a request id that could forge log lines', async () => {
    const response = await fetch(`${running.url}/health/live`, { headers: { 'x-request-id': 'a b\tc' } });
    expect(response.headers.get('x-request-id')).not.toBe('a b\tc');
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers an unknown route with the contract error body and no internals', async () => {
    const response = await fetch(`${running.url}/no/such/route`, { headers: { 'x-request-id': 'nf-1' } });
    expect(response.status).toBe(404);
    expect(response.headers.get('x-response-time')).toMatch(/ms$/);
    expect(await response.json()).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'no route GET /no/such/route; see /docs for the API',
      requestId: 'nf-1',
    });
  });

  it('records requests in the metrics with route templates', async () => {
    await fetch(`${running.url}/health/live`);
    const text = await (await fetch(`${running.url}/metrics`)).text();
    expect(text).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/health\/live",status_code="200"\} \d+/,
    );
    expect(text).toContain('process_resident_memory_bytes');
  });
});
