import { createValidationPipe } from '../../common/validation/validation.pipe';
import { validationProblemsOf } from '../../../test/support/validation';
import { ChatRequestDto } from './chat-request.dto';

const pipe = createValidationPipe();
const problemsOf = (body: unknown): Promise<string> => validationProblemsOf(ChatRequestDto, body);

const long = (length: number): string => 'x'.repeat(length);

describe(ChatRequestDto.name, () => {
  it('accepts every field at its limits', async () => {
    const body = {
      message: long(32_000),
      system: long(32_000),
      history: Array.from({ length: 100 }, (_, i) => ({
        role: (['system', 'user', 'assistant'] as const)[i % 3],
        content: i === 0 ? '' : long(10),
      })),
      options: { temperature: 2, top_p: 0, num_predict: 8192, seed: -1 },
      stream: true,
    };
    const dto = (await pipe.transform(body, { type: 'body', metatype: ChatRequestDto })) as ChatRequestDto;
    expect(dto).toBeInstanceOf(ChatRequestDto);
    expect(dto.history).toHaveLength(100);
    expect(dto.options).toMatchObject({ temperature: 2, num_predict: 8192 });
  });

  it.each<[string, unknown, string]>([
    ['a missing message', {}, 'message must be a string'],
    ['an empty message', { message: '' }, 'message must be longer than or equal to 1 characters'],
    ['a message over 32000 chars', { message: long(32_001) }, 'message must be shorter than or equal to 32000'],
    ['a message that is a number', { message: 5 }, 'message must be a string'],
    ['a system prompt over 32000 chars', { message: 'hi', system: long(32_001) }, 'system must be shorter'],
    ['history that is text', { message: 'hi', history: 'x' }, 'history must be an array'],
    [
      'history over 100 items',
      { message: 'hi', history: Array.from({ length: 101 }, () => ({ role: 'user', content: 'x' })) },
      'history must contain no more than 100 elements',
    ],
    [
      'an unknown history role',
      { message: 'hi', history: [{ role: 'tool', content: 'x' }] },
      'history.0.role must be one of system, user, assistant',
    ],
    [
      'history content over the limit',
      {
        message: 'hi',
        history: [
          { role: 'user', content: 'x' },
          { role: 'user', content: long(32_001) },
        ],
      },
      'history.1.content must be shorter than or equal to 32000',
    ],
    [
      'a history item that is not an object',
      { message: 'hi', history: [5] },
      'each value in history must be an object',
    ],
    [
      'a history item that is a list',
      { message: 'hi', history: [[{ role: 'user', content: 'x' }]] },
      'each value in history must be an object',
    ],
    ['history that is null', { message: 'hi', history: null }, 'history must be an array'],
    ['options that are null', { message: 'hi', options: null }, 'options must be an object'],
    ['a system prompt that is null', { message: 'hi', system: null }, 'system must be a string'],
    [
      'an unknown field in history',
      { message: 'hi', history: [{ role: 'user', content: 'x', name: 'n' }] },
      'history.0.name: property name should not exist',
    ],
    ['options that are a list', { message: 'hi', options: [] }, 'options must be an object'],
    [
      'a temperature above 2',
      { message: 'hi', options: { temperature: 2.5 } },
      'options.temperature must not be greater than 2',
    ],
    [
      'a negative temperature',
      { message: 'hi', options: { temperature: -0.1 } },
      'options.temperature must not be less than 0',
    ],
    ['a temperature as text', { message: 'hi', options: { temperature: '1' } }, 'options.temperature must be a number'],
    ['top_p above 1', { message: 'hi', options: { top_p: 1.1 } }, 'options.top_p must not be greater than 1'],
    ['num_predict of 0', { message: 'hi', options: { num_predict: 0 } }, 'options.num_predict must not be less than 1'],
    [
      'num_predict over 8192',
      { message: 'hi', options: { num_predict: 8193 } },
      'options.num_predict must not be greater than 8192',
    ],
    [
      'a fractional num_predict',
      { message: 'hi', options: { num_predict: 1.5 } },
      'options.num_predict must be an integer',
    ],
    ['a fractional seed', { message: 'hi', options: { seed: 0.5 } }, 'options.seed must be an integer'],
    ['an unsafe seed', { message: 'hi', options: { seed: 1e300 } }, 'options.seed must not be greater than'],
    [
      'an unknown option',
      { message: 'hi', options: { num_ctx: 4096 } },
      'options.num_ctx: property num_ctx should not exist',
    ],
    ['stream as text', { message: 'hi', stream: 'true' }, 'stream must be a boolean value'],
    ['an unknown field', { message: 'hi', modell: 'other' }, 'property modell should not exist'],
    ['a model that is not a string', { message: 'hi', model: ['qwen2.5:7b'] }, 'model must be a string'],
  ])('refuses %s, naming the field and limit', async (_case, body, expected) => {
    expect(await problemsOf(body)).toContain(expected);
  });

  it('names every problem in one message', async () => {
    const message = await problemsOf({ message: '', stream: 1, extra: true });
    expect(message).toContain('property extra should not exist');
    expect(message).toContain('message must be longer than or equal to 1 characters');
    expect(message).toContain('stream must be a boolean value');
  });
});
