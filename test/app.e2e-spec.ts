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

describe('the application with a small body limit', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({
      BODY_LIMIT_BYTES: '2048',
      OLLAMA_URL: 'http://127.0.0.1:9',
      OLLAMA_AUTO_START: 'false',
    });
  });

  afterAll(async () => {
    await running.close();
  });

  it('refuses a body over BODY_LIMIT_BYTES with 413 naming the limit', async () => {
    const response = await fetch(`${running.url}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'x'.repeat(4096) }),
    });
    expect(response.status).toBe(413);
    const body = (await response.json()) as { message: string; statusCode: number; error: string };
    expect(body).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
    expect(body.message).toBe('request body is larger than 2048 bytes (BODY_LIMIT_BYTES); send a smaller body');
  });

  it('refuses a body that is not JSON with 415 naming the content type to send', async () => {
    const response = await fetch(`${running.url}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: '<message>hi</message>',
    });
    expect(response.status).toBe(415);
    expect(((await response.json()) as { message: string }).message).toBe(
      "unsupported Content-Type 'application/xml'; send the body as application/json",
    );
  });

  it('refuses malformed JSON with 400', async () => {
    const response = await fetch(`${running.url}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"message": ',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toMatch(/JSON/);
  });
});
