import { BadRequestException, CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { unsafeBodyProblem } from './body-shape';

/**
 * Refuses JSON bodies with `__proto__`, `constructor` or `prototype` keys at any level, or nested
 * deeper than `MAX_BODY_DEPTH`, with 400 naming the problem. Fastify's parser already refuses
 * `__proto__` and `constructor.prototype`; the validation pipe would silently drop the other reserved
 * keys (a 200 for a body the contract refuses) and recurses through unknown nested values.
 * Runs after the key check and the rate limit, before the validation pipe.
 */
@Injectable()
export class BodyShapeGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') {
      return true;
    }
    const problem = unsafeBodyProblem(context.switchToHttp().getRequest<FastifyRequest>().body);
    if (problem !== undefined) {
      throw new BadRequestException(problem);
    }
    return true;
  }
}
