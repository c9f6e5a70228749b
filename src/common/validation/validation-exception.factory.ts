import { BadRequestException } from '@nestjs/common';
import type { ValidationError } from './class-validator';

function flatten(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((error) => {
    const path = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) =>
      // class-validator starts each message with the bare property name; give the full path instead.
      message.startsWith(`${error.property} `)
        ? `${path}${message.slice(error.property.length)}`
        : `${path}: ${message}`,
    );
    return [...own, ...flatten(error.children ?? [], path)];
  });
}

/** One 400 whose message names every field that is wrong and the limit it broke, joined into one string. */
export function validationExceptionFactory(errors: ValidationError[]): BadRequestException {
  return new BadRequestException(flatten(errors).join('; '));
}
