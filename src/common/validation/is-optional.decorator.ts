import { ValidateIf } from './class-validator';

/**
 * Like class-validator's `@IsOptional()`, but only for a field that is absent: an explicit `null` is a
 * value of the wrong type and gets the field's own validation message, never a silent default (which
 * would let `"options": null` through to code that expects an object).
 */
export const IsOptional = (): PropertyDecorator => ValidateIf((_object, value) => value !== undefined);
