import { createValidationPipe } from '../../common/validation/validation.pipe';
import { validationProblemsOf } from '../../../test/support/validation';
import { RiskAssessRequestDto } from './risk-assess-request.dto';

const pipe = createValidationPipe();
const problemsOf = (body: unknown): Promise<string> => validationProblemsOf(RiskAssessRequestDto, body);

const long = (length: number): string => 'x'.repeat(length);

describe(RiskAssessRequestDto.name, () => {
  it('accepts every field at its limits', async () => {
    const body = {
      subject: long(200),
      question: long(2000),
      evidence: Array.from({ length: 50 }, (_, i) => ({
        text: long(i === 0 ? 10_000 : 1),
        source: long(500),
        date: i % 2 === 0 ? '2026-10-30' : '2026-10-30T12:00:00Z',
      })),
      prices: Array.from({ length: 10_000 }, (_, i) => 100 + (i % 7)),
      horizonDays: 365,
    };
    const dto = (await pipe.transform(body, { type: 'body', metatype: RiskAssessRequestDto })) as RiskAssessRequestDto;
    expect(dto.evidence).toHaveLength(50);
    expect(dto.prices).toHaveLength(10_000);
  });

  it('accepts the smallest request: a subject', async () => {
    await expect(pipe.transform({ subject: 'x' }, { type: 'body', metatype: RiskAssessRequestDto })).resolves.toEqual({
      subject: 'x',
    });
  });

  it.each<[string, unknown, string]>([
    ['a missing subject', {}, 'subject must be a string'],
    ['an empty subject', { subject: '' }, 'subject must be longer than or equal to 1 characters'],
    ['a subject over 200 chars', { subject: long(201) }, 'subject must be shorter than or equal to 200'],
    [
      'a question over 2000 chars',
      { subject: 's', question: long(2001) },
      'question must be shorter than or equal to 2000',
    ],
    ['evidence that is an object', { subject: 's', evidence: { text: 'x' } }, 'evidence must be an array'],
    [
      'more than 50 evidence items',
      { subject: 's', evidence: Array.from({ length: 51 }, () => ({ text: 'x' })) },
      'evidence must contain no more than 50 elements',
    ],
    [
      'an evidence item that is not an object',
      { subject: 's', evidence: ['x'] },
      'each value in evidence must be an object',
    ],
    ['prices that are null', { subject: 's', prices: null }, 'prices must be an array'],
    ['evidence without text', { subject: 's', evidence: [{ source: 'x' }] }, 'evidence.0.text must be a string'],
    [
      'empty evidence text',
      { subject: 's', evidence: [{ text: '' }] },
      'evidence.0.text must be longer than or equal to 1',
    ],
    [
      'evidence text over 10000 chars',
      { subject: 's', evidence: [{ text: long(10_001) }] },
      'evidence.0.text must be shorter than or equal to 10000',
    ],
    [
      'a source over 500 chars',
      { subject: 's', evidence: [{ text: 'x', source: long(501) }] },
      'evidence.0.source must be shorter than or equal to 500',
    ],
    [
      'a date that is not ISO-8601',
      { subject: 's', evidence: [{ text: 'x', date: '30/10/2026' }] },
      'evidence.0.date must be an ISO-8601 date',
    ],
    [
      'a date that does not exist',
      { subject: 's', evidence: [{ text: 'x', date: '2026-02-30' }] },
      'evidence.0.date must be an ISO-8601 date',
    ],
    [
      'an unknown evidence field',
      { subject: 's', evidence: [{ text: 'x', url: 'u' }] },
      'evidence.0.url: property url should not exist',
    ],
    ['two prices', { subject: 's', prices: [1, 2] }, 'prices must contain at least 3 elements'],
    [
      'more than 10000 prices',
      { subject: 's', prices: Array.from({ length: 10_001 }, () => 1) },
      'prices must contain no more than 10000 elements',
    ],
    ['a zero price', { subject: 's', prices: [1, 0, 2] }, 'each value in prices must be a positive number'],
    ['a negative price', { subject: 's', prices: [1, -2, 2] }, 'each value in prices must be a positive number'],
    ['a price as text', { subject: 's', prices: [1, '2', 3] }, 'each value in prices must be a number'],
    ['an infinite price', { subject: 's', prices: [1, Infinity, 3] }, 'each value in prices must be a number'],
    ['prices that are text', { subject: 's', prices: '1,2,3' }, 'prices must be an array'],
    ['a horizon of 0 days', { subject: 's', horizonDays: 0 }, 'horizonDays must not be less than 1'],
    ['a horizon over 365 days', { subject: 's', horizonDays: 366 }, 'horizonDays must not be greater than 365'],
    ['a fractional horizon', { subject: 's', horizonDays: 1.5 }, 'horizonDays must be an integer'],
    ['an unknown field', { subject: 's', modell: 'x' }, 'property modell should not exist'],
    ['a model that is not a string', { subject: 's', model: 7 }, 'model must be a string'],
    ['an empty model name', { subject: 's', model: ' ' }, 'model must name a served model'],
  ])('refuses %s, naming the field and limit', async (_case, body, expected) => {
    expect(await problemsOf(body)).toContain(expected);
  });
});
