import {
  CanActivate,
  ExecutionContext,
  Inject,
  Injectable,
  Logger,
  OnModuleInit,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SecurityConfig, securityConfig } from '../config/configuration';
import { ApiKeyRing, presentedApiKey } from './api-keys';
import { isPublicRoute } from './public.decorator';

export const MISSING_API_KEY = 'missing API key: send Authorization: Bearer <key> or X-API-Key: <key>';
export const INVALID_API_KEY = 'invalid API key';
export const OPEN_ACCESS_WARNING = 'API_KEYS is empty: the inference routes are open to anyone who can reach this port';
export const WWW_AUTHENTICATE = 'Bearer realm="local-llm-gateway"';

const KEY_ID = Symbol('apiKeyId');

type KeyedRequest = FastifyRequest & { [KEY_ID]?: string };

/** The id (SHA-256 hex) of the API key the request was let in with; `undefined` when no key was needed. */
export function apiKeyIdOf(request: FastifyRequest): string | undefined {
  return (request as KeyedRequest)[KEY_ID];
}

/**
 * Lets a request through only with one of the configured `API_KEYS`, unless its route is `@Public()`.
 * With no keys configured every route is open, and one warning at startup says so.
 * Refusals are 401 with `WWW-Authenticate`; the key itself is never logged.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate, OnModuleInit {
  private readonly logger = new Logger('Security');
  private readonly keys: ApiKeyRing;

  constructor(
    @Inject(securityConfig.KEY) config: SecurityConfig,
    private readonly reflector: Reflector,
  ) {
    this.keys = new ApiKeyRing(config.apiKeys);
  }

  onModuleInit(): void {
    if (this.keys.isEmpty) {
      this.logger.warn(OPEN_ACCESS_WARNING);
    }
  }

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http' || this.keys.isEmpty || isPublicRoute(this.reflector, context)) {
      return true;
    }
    const http = context.switchToHttp();
    const request = http.getRequest<KeyedRequest>();
    const presented = presentedApiKey(request.headers);
    const keyId = presented === undefined ? undefined : this.keys.identify(presented);
    if (keyId === undefined) {
      // Set on the reply before throwing: the exception filter keeps headers already set.
      void http.getResponse<FastifyReply>().header('www-authenticate', WWW_AUTHENTICATE);
      throw new UnauthorizedException(presented === undefined ? MISSING_API_KEY : INVALID_API_KEY);
    }
    request[KEY_ID] = keyId;
    return true;
  }
}
