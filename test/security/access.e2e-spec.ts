import { ApiKeyGuard, INVALID_API_KEY, MISSING_API_KEY, WWW_AUTHENTICATE } from '../../src/security/api-key.guard';
import { RateLimitGuard } from '../../src/security/rate-limit.guard';
import { expectContractError } from './support/error-body';
import { VALID_ASSESSMENT, VALID_CHAT, VALID_RISK, postJson } from './support/requests';
import { SecuredApp, startSecuredApp } from './support/secured-app';

const ALPHA = 'key-alpha-0123456789';
const BETA = 'key-beta-0123456789';
const OPEN_ROUTES = ['/health/live', '/health/ready', '/health', '/health/ollama', '/health/llm', '/metrics'];

describe(ApiKeyGuard.name, () => {
  let service: SecuredApp;

  beforeAll(async () => {
    service = await startSecuredApp({ API_KEYS: `${ALPHA},${BETA}` });
    service.emulator.configure({ structuredReply: VALID_ASSESSMENT });
  });

  afterAll(async () => {
    await service?.close();
  });

  it.each(['/chat', '/risk/assess'])('refuses %s without a key: 401, WWW-Authenticate, what to send', async (route) => {
    const response = await postJson(`${service.url}${route}`, route === '/chat' ? VALID_CHAT : VALID_RISK);
    expect(response.headers.get('www-authenticate')).toBe(WWW_AUTHENTICATE);
    const body = await expectContractError(response, 401);
    expect(body.message).toBe(MISSING_API_KEY);
  });

  it('refuses a wrong key, in either header, with 401 and WWW-Authenticate', async () => {
    const wrongKeys: Record<string, string>[] = [
      { authorization: 'Bearer key-gamma-0123456789' },
      { 'x-api-key': ALPHA.slice(0, -1) },
    ];
    for (const headers of wrongKeys) {
      const response = await postJson(`${service.url}/chat`, VALID_CHAT, headers);
      expect(response.headers.get('www-authenticate')).toBe(WWW_AUTHENTICATE);
      expect((await expectContractError(response, 401)).message).toBe(INVALID_API_KEY);
    }
  });

  it('never lets the model see a refused request', async () => {
    service.emulator.resetStats();
    await (await postJson(`${service.url}/chat`, VALID_CHAT, { 'x-api-key': 'nope' })).arrayBuffer();
    expect(service.emulator.stats.requests.chat ?? 0).toBe(0);
  });

  it('answers /chat with Authorization: Bearer', async () => {
    const response = await postJson(`${service.url}/chat`, VALID_CHAT, { authorization: `Bearer ${ALPHA}` });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { reply: string }).reply).toEqual(expect.any(String));
  });

  it('answers /risk/assess with X-API-Key', async () => {
    const response = await postJson(`${service.url}/risk/assess`, VALID_RISK, { 'x-api-key': BETA });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ subject: VALID_RISK.subject, score: 30 });
  });

  it.each(OPEN_ROUTES)('leaves %s open to probes and scrapers without a key', async (route) => {
    const response = await fetch(`${service.url}${route}`);
    expect(response.status).toBe(200);
  });

  it.each(['/docs', '/docs-json'])('leaves the API documentation %s open', async (route) => {
    const response = await fetch(`${service.url}${route}`);
    expect(response.status).toBe(200);
  });
});

describe(RateLimitGuard.name, () => {
  let service: SecuredApp;

  beforeAll(async () => {
    service = await startSecuredApp({ API_KEYS: `${ALPHA},${BETA}`, RATE_LIMIT_PER_MINUTE: '3' });
  });

  afterAll(async () => {
    await service?.close();
  });

  it('refuses the request past the limit with 429, Retry-After and the contract body', async () => {
    const alpha = { 'x-api-key': ALPHA };
    for (let i = 0; i < 3; i++) {
      const response = await postJson(`${service.url}/chat`, VALID_CHAT, alpha);
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
    const refused = await postJson(`${service.url}/chat`, VALID_CHAT, alpha);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
    const body = await expectContractError(refused, 429);
    expect(body.message).toContain('at most 3 requests per minute');
  });

  it('gives every key its own budget', async () => {
    const beta = { authorization: `Bearer ${BETA}` };
    for (let i = 0; i < 3; i++) {
      const response = await postJson(`${service.url}/chat`, VALID_CHAT, beta);
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
    expect((await postJson(`${service.url}/chat`, VALID_CHAT, beta)).status).toBe(429);
  });

  it('never limits health and metrics', async () => {
    for (let i = 0; i < 10; i++) {
      for (const route of ['/health/live', '/health/ready', '/metrics']) {
        const response = await fetch(`${service.url}${route}`);
        expect(response.status).toBe(200);
        await response.arrayBuffer();
      }
    }
  });
});
