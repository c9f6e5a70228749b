import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import * as classValidatorIndex from 'class-validator';
import * as rules from './class-validator';
import { IsInt, IsOptional, IsString, Matches, Max, MaxLength, validate, validateSync } from './class-validator';

const REPO_ROOT = join(__dirname, '..', '..', '..');

class Sample {
  @IsString()
  @MaxLength(5)
  name!: unknown;

  @IsOptional()
  @IsInt()
  @Max(10)
  count?: unknown;

  @Matches(/^[a-z]+$/)
  code!: unknown;
}

function sample(values: Record<string, unknown>): Sample {
  return Object.assign(new Sample(), values);
}

describe('class-validator, one rule at a time', () => {
  it("exports each rule as the very function of class-validator's index", () => {
    const exported = Object.entries(rules).filter(([name]) => name !== 'validate' && name !== 'validateSync');
    expect(exported.length).toBeGreaterThan(15);
    for (const [name, rule] of exported) {
      expect([name, rule]).toEqual([name, classValidatorIndex[name as keyof typeof classValidatorIndex]]);
    }
  });

  it("validates as the package's own validate and validateSync do, broken rules included", async () => {
    const broken = sample({ name: 'far too long', count: 11, code: 'ABC', extra: true });
    const options = { whitelist: true, forbidNonWhitelisted: true };
    const mine = validateSync(broken, options);
    expect(mine.map((error) => error.property).sort()).toEqual(['code', 'count', 'extra', 'name']);
    expect(mine).toEqual(classValidatorIndex.validateSync(broken, options));
    expect(await validate(broken, options)).toEqual(await classValidatorIndex.validate(broken, options));
    expect(validateSync(sample({ name: 'ok', code: 'abc' }))).toEqual([]);
  });

  it("leaves class-validator's index and libphonenumber-js unloaded in the service's process", () => {
    const probe = [
      "require('reflect-metadata');",
      "require('./src/bootstrap');",
      'const loaded = Object.keys(require.cache);',
      'process.stdout.write(JSON.stringify({',
      "  index: loaded.includes(require.resolve('class-validator')),",
      "  phoneNumbers: loaded.some((file) => file.includes('/node_modules/libphonenumber-js/')),",
      "  rules: loaded.some((file) => file.includes('/class-validator/cjs/decorator/')),",
      '}));',
    ].join('\n');
    const output = execFileSync(process.execPath, ['--require', './test/support/register-ts.js', '-e', probe], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    expect(JSON.parse(output)).toEqual({ index: false, phoneNumbers: false, rules: true });
  });
});
