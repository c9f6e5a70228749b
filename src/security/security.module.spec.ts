import { Controller, DynamicModule, Get, Logger, Module, Post } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { LightMyRequestResponse } from 'fastify';
import { AllExceptionsFilter } from '../common/filters/all-exceptions.filter';
import { appConfig, securityConfig } from '../config/configuration';
import { parseEnvironment } from '../config/environment';
import { INVALID_API_KEY, MISSING_API_KEY, OPEN_ACCESS_WARNING, WWW_AUTHENTICATE } from './api-key.guard';
import { MetricsModule } from '../metrics/metrics.module';
import { Public } from './public.decorator';
import { SecurityModule } from './security.module';

const KEY_ONE = 'key-one-0123456789abcdef';
const KEY_TWO = 'key-two-0123456789abcdef';

@Controller()
class InferenceController {
  @Post('chat')
  chat(): { reply: string } {
    return { reply: 'ok' };
  }

  @Post('risk/assess')
  assess(): { riskLevel: string } {
    return { riskLevel: 'low' };
  }
}

@Public()
@Controller('health')
class ProbeController {
  @Get('live')
  live(): { status: string } {
    return { status: 'ok' };
  }
}

/** The configuration namespaces the module reads, from a given environment instead of `process.env`. */
function configFrom(env: Record<string, string>): DynamicModule {
  const config = parseEnvironment(env);
  return {
    module: class ConfigFromEnv {},
    global: true,
    providers: [
      { provide: securityConfig.KEY, useValue: config.security },
      { provide: appConfig.KEY, useValue: config.app },
    ],
    exports: [securityConfig.KEY, appConfig.KEY],
  };
}

async function appWith(env: Record<string, string>): Promise<NestFastifyApplication> {
  @Module({
    imports: [configFrom(env), MetricsModule, SecurityModule],
    controllers: [InferenceController, ProbeController],
    providers: [{ provide: APP_FILTER, useClass: AllExceptionsFilter }],
  })
  class TestAppModule {}

  const moduleRef = await Test.createTestingModule({ imports: [TestAppModule] }).compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

function post(app: NestFastifyApplication, url: string, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url, headers, payload: {} });
}

function json(response: LightMyRequestResponse): Record<string, unknown> {
  return response.json<Record<string, unknown>>();
}

describe(SecurityModule.name, () => {
  let app: NestFastifyApplication | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
    jest.restoreAllMocks();
  });

  describe('API keys', () => {
    beforeEach(async () => {
      app = await appWith({ API_KEYS: `${KEY_ONE},${KEY_TWO}` });
    });

    it('refuses a request without a key with 401, WWW-Authenticate and the contract body', async () => {
      const response = await post(app!, '/chat');
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toBe(WWW_AUTHENTICATE);
      expect(json(response)).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        message: MISSING_API_KEY,
        requestId: expect.any(String),
      });
    });

    it('refuses a wrong key with 401 and says it is invalid', async () => {
      const wrongKeys: Record<string, string>[] = [
        { authorization: 'Bearer key-three-0123456789abcdef' },
        { 'x-api-key': KEY_ONE.slice(0, -1) },
      ];
      for (const headers of wrongKeys) {
        const response = await post(app!, '/risk/assess', headers);
        expect(response.statusCode).toBe(401);
        expect(response.headers['www-authenticate']).toBe(WWW_AUTHENTICATE);
        expect(json(response).message).toBe(INVALID_API_KEY);
      }
    });

    it('lets any configured key in, as a bearer token or as X-API-Key', async () => {
      expect((await post(app!, '/chat', { authorization: `Bearer ${KEY_ONE}` })).statusCode).toBe(201);
      expect((await post(app!, '/chat', { 'x-api-key': KEY_TWO })).statusCode).toBe(201);
    });

    it('leaves public routes open', async () => {
      const response = await app!.inject({ method: 'GET', url: '/health/live' });
      expect(response.statusCode).toBe(200);
    });
  });

  describe('body shape', () => {
    it('refuses a reserved key anywhere in the body with 400 naming it', async () => {
      app = await appWith({ API_KEYS: KEY_ONE });
      const response = await app.inject({
        method: 'POST',
        url: '/chat',
        headers: { 'x-api-key': KEY_ONE, 'content-type': 'application/json' },
        payload: '{"message":"hi","history":[{"role":"user","content":"x","prototype":{"polluted":1}}]}',
      });
      expect(response.statusCode).toBe(400);
      expect(json(response)).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: expect.stringMatching(/^property history\[0\]\.prototype is not accepted/),
        requestId: expect.any(String),
      });
    });

    it('asks for the key before looking at the body', async () => {
      app = await appWith({ API_KEYS: KEY_ONE });
      const response = await app.inject({
        method: 'POST',
        url: '/chat',
        headers: { 'content-type': 'application/json' },
        payload: '{"constructor":"x"}',
      });
      expect(response.statusCode).toBe(401);
    });
  });

  describe('without API keys', () => {
    it('lets every request in and warns once at startup', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      app = await appWith({});
      expect((await post(app, '/chat')).statusCode).toBe(201);
      expect((await post(app, '/chat', { authorization: 'Bearer anything' })).statusCode).toBe(201);
      expect(warn.mock.calls.filter(([message]) => message === OPEN_ACCESS_WARNING)).toHaveLength(1);
    });

    it('does not warn when keys are configured', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      app = await appWith({ API_KEYS: 'k'.repeat(16) });
      expect(warn.mock.calls.filter(([message]) => message === OPEN_ACCESS_WARNING)).toHaveLength(0);
    });
  });

  describe('rate limit', () => {
    it('refuses the request past the limit with 429, Retry-After and the contract body', async () => {
      app = await appWith({ API_KEYS: KEY_ONE, RATE_LIMIT_PER_MINUTE: '3' });
      const headers = { 'x-api-key': KEY_ONE };
      for (let i = 0; i < 3; i++) {
        const response = await post(app, '/chat', headers);
        expect(response.statusCode).toBe(201);
        expect(response.headers['x-ratelimit-limit']).toBe('3');
        expect(response.headers['x-ratelimit-remaining']).toBe(String(2 - i));
      }
      const refused = await post(app, '/chat', headers);
      expect(refused.statusCode).toBe(429);
      const retryAfter = Number(refused.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(59);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(json(refused)).toEqual({
        statusCode: 429,
        error: 'Too Many Requests',
        message: `rate limit exceeded: at most 3 requests per minute (RATE_LIMIT_PER_MINUTE); retry after ${retryAfter} s`,
        requestId: expect.any(String),
      });
    });

    it('counts one budget per key across routes, and separate keys separately', async () => {
      app = await appWith({ API_KEYS: `${KEY_ONE},${KEY_TWO}`, RATE_LIMIT_PER_MINUTE: '2' });
      expect((await post(app, '/chat', { 'x-api-key': KEY_ONE })).statusCode).toBe(201);
      expect((await post(app, '/risk/assess', { authorization: `Bearer ${KEY_ONE}` })).statusCode).toBe(201);
      expect((await post(app, '/risk/assess', { 'x-api-key': KEY_ONE })).statusCode).toBe(429);
      expect((await post(app, '/chat', { 'x-api-key': KEY_TWO })).statusCode).toBe(201);
      expect((await post(app, '/chat', { 'x-api-key': KEY_TWO })).statusCode).toBe(201);
      expect((await post(app, '/chat', { 'x-api-key': KEY_TWO })).statusCode).toBe(429);
    });

    it('spends no budget on requests refused for a bad key', async () => {
      app = await appWith({ API_KEYS: KEY_ONE, RATE_LIMIT_PER_MINUTE: '1' });
      for (let i = 0; i < 5; i++) {
        expect((await post(app, '/chat', { 'x-api-key': 'wrong' })).statusCode).toBe(401);
      }
      expect((await post(app, '/chat', { 'x-api-key': KEY_ONE })).statusCode).toBe(201);
    });

    it('limits by client address when no keys are configured', async () => {
      jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      app = await appWith({ RATE_LIMIT_PER_MINUTE: '1' });
      const from = (remoteAddress: string) => app!.inject({ method: 'POST', url: '/chat', payload: {}, remoteAddress });
      expect((await from('10.0.0.1')).statusCode).toBe(201);
      expect((await from('10.0.0.1')).statusCode).toBe(429);
      expect((await from('10.0.0.2')).statusCode).toBe(201);
    });

    it('never limits public routes', async () => {
      app = await appWith({ API_KEYS: KEY_ONE, RATE_LIMIT_PER_MINUTE: '1' });
      for (let i = 0; i < 5; i++) {
        expect((await app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
      }
    });

    it('limits nothing when RATE_LIMIT_PER_MINUTE is 0', async () => {
      app = await appWith({ API_KEYS: KEY_ONE, RATE_LIMIT_PER_MINUTE: '0' });
      for (let i = 0; i < 20; i++) {
        const response = await post(app, '/chat', { 'x-api-key': KEY_ONE });
        expect(response.statusCode).toBe(201);
        expect(response.headers['x-ratelimit-limit']).toBeUndefined();
      }
    });

    it('lets a refused caller in again once Retry-After has passed', async () => {
      app = await appWith({ API_KEYS: KEY_ONE, RATE_LIMIT_PER_MINUTE: '1' });
      const headers = { 'x-api-key': KEY_ONE };
      const start = Date.now();
      const now = jest.spyOn(Date, 'now').mockReturnValue(start);
      expect((await post(app, '/chat', headers)).statusCode).toBe(201);
      const refused = await post(app, '/chat', headers);
      expect(refused.statusCode).toBe(429);
      now.mockReturnValue(start + (Number(refused.headers['retry-after']) - 1) * 1000);
      expect((await post(app, '/chat', headers)).statusCode).toBe(429);
      now.mockReturnValue(start + Number(refused.headers['retry-after']) * 1000 + 1);
      expect((await post(app, '/chat', headers)).statusCode).toBe(201);
    });
  });
});
