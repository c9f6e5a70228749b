import { BadRequestException, type Type } from '@nestjs/common';
import { createValidationPipe } from '../../src/common/validation/validation.pipe';

const pipe = createValidationPipe();

/**
 * What the application's global pipe says about `body` as a `metatype`: the message of its 400.
 * @throws when the body is accepted, so a test of a refusal cannot pass by accident.
 */
export async function validationProblemsOf(metatype: Type<unknown>, body: unknown): Promise<string> {
  try {
    await pipe.transform(body, { type: 'body', metatype });
  } catch (error) {
    if (error instanceof BadRequestException) {
      return (error.getResponse() as { message: string }).message;
    }
    throw error;
  }
  throw new Error('the body was accepted');
}
