import { ValidationPipe } from '@nestjs/common';
import { validate } from './class-validator';
import { validationExceptionFactory } from './validation-exception.factory';

/**
 * The global pipe: unknown fields are refused (whitelist + forbidNonWhitelisted), bodies become DTO
 * instances, and every broken rule is named in one 400. The pipe validates with the rules loaded by
 * `./class-validator`, so that class-validator's index (all of its rules) is never loaded.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: validationExceptionFactory,
    validatorPackage: { validate },
  });
}
