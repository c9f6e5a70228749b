/* eslint-disable @typescript-eslint/no-require-imports */
import type * as ClassValidator from 'class-validator';
import type { ValidatorOptions } from 'class-validator';

type ClassValidatorExports = typeof ClassValidator;

/**
 * One export of class-validator, loaded from the module that defines it, typed as the package's index
 * types it.
 */
function load<K extends keyof ClassValidatorExports>(name: K, modulePath: string): ClassValidatorExports[K] {
  const exports = require(`class-validator/cjs/${modulePath}`) as Partial<ClassValidatorExports>;
  const value = exports[name];
  if (value === undefined) {
    throw new Error(`class-validator/cjs/${modulePath} does not export ${name}`);
  }
  return value;
}

/*
 * The rules of class-validator that this service uses, each from its own module. Every file of the
 * service imports class-validator from here, never from the package itself: the package's index loads
 * all of its hundred-odd rules, and with them validator.js whole and libphonenumber-js's metadata, about
 * 3 MiB of heap held for the life of the process (`docs/benchmarks.md`, change 20). The rules and the
 * validator below share the package's one metadata store (a global), so a DTO decorated here is
 * validated exactly as one decorated through the index. A rule not listed yet is added here, from the
 * module under `class-validator/cjs/decorator/` that defines it.
 */
export const ArrayMaxSize = load('ArrayMaxSize', 'decorator/array/ArrayMaxSize');
export const ArrayMinSize = load('ArrayMinSize', 'decorator/array/ArrayMinSize');
export const IsArray = load('IsArray', 'decorator/typechecker/IsArray');
export const IsBoolean = load('IsBoolean', 'decorator/typechecker/IsBoolean');
export const IsIn = load('IsIn', 'decorator/common/IsIn');
export const IsInt = load('IsInt', 'decorator/typechecker/IsInt');
export const IsISO8601 = load('IsISO8601', 'decorator/string/IsISO8601');
export const IsNumber = load('IsNumber', 'decorator/typechecker/IsNumber');
export const IsObject = load('IsObject', 'decorator/typechecker/IsObject');
export const IsOptional = load('IsOptional', 'decorator/common/IsOptional');
export const IsPositive = load('IsPositive', 'decorator/number/IsPositive');
export const IsString = load('IsString', 'decorator/typechecker/IsString');
export const Matches = load('Matches', 'decorator/string/Matches');
export const Max = load('Max', 'decorator/number/Max');
export const MaxLength = load('MaxLength', 'decorator/string/MaxLength');
export const Min = load('Min', 'decorator/number/Min');
export const MinLength = load('MinLength', 'decorator/string/MinLength');
export const ValidateBy = load('ValidateBy', 'decorator/common/ValidateBy');
export const ValidateIf = load('ValidateIf', 'decorator/common/ValidateIf');
export const ValidateNested = load('ValidateNested', 'decorator/common/ValidateNested');

export type { ValidationError, ValidationOptions, ValidatorOptions } from 'class-validator';

const Validator = load('Validator', 'validation/Validator');
const getFromContainer = load('getFromContainer', 'container');

/** The validator the package's own `validate` and `validateSync` use. */
function validator(): ClassValidator.Validator {
  return getFromContainer(Validator);
}

/** class-validator's `validateSync(object, options)`. */
export function validateSync(object: object, options?: ValidatorOptions): ClassValidator.ValidationError[] {
  return validator().validateSync(object, options);
}

/** class-validator's `validate(object, options)`. */
export function validate(object: object, options?: ValidatorOptions): Promise<ClassValidator.ValidationError[]> {
  return validator().validate(object, options);
}
