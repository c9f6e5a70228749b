import { CustomDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';

const IS_PUBLIC = 'security:public';

/**
 * Opens a controller or a handler to callers without an API key, and takes it out of the rate limit.
 * Meant for probes and scrapes (health, metrics), which infrastructure calls without credentials.
 */
export const Public = (): CustomDecorator => SetMetadata(IS_PUBLIC, true);

/** Whether the handler about to run, or its controller, carries `@Public()`. */
export function isPublicRoute(reflector: Reflector, context: ExecutionContext): boolean {
  return (
    reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, [context.getHandler(), context.getClass()]) === true
  );
}
