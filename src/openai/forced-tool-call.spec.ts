import type { LlmTool } from '../llm/llm.types';
import { forcedCallFormat, forceToolCall, parseForcedCall } from './forced-tool-call';

const WEATHER: LlmTool = {
  name: 'get_weather',
  description: 'Current weather of a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1 } },
    required: ['city'],
  },
};
const TIME: LlmTool = { name: 'get_time', parameters: { type: 'object', properties: {} } };

describe(forcedCallFormat.name, () => {
  it('admits only a call of the one allowed tool with arguments following its parameters', () => {
    expect(forcedCallFormat([WEATHER])).toEqual({
      type: 'object',
      properties: { name: { const: 'get_weather' }, arguments: WEATHER.parameters },
      required: ['name', 'arguments'],
      additionalProperties: false,
    });
  });

  it('admits a call of any of several tools, each with its own arguments', () => {
    expect(forcedCallFormat([WEATHER, TIME])).toEqual({
      anyOf: [forcedCallFormat([WEATHER]), forcedCallFormat([TIME])],
    });
  });
});

describe(forceToolCall.name, () => {
  const llm = {
    messages: [
      { role: 'system' as const, content: 'Be brief.' },
      { role: 'user' as const, content: 'Oslo?' },
    ],
    options: { temperature: 0 },
    tools: [WEATHER, TIME],
  };

  it('sends no tools, the call schema as format, and the tools described after the system messages', () => {
    const forced = forceToolCall(llm, [WEATHER]);
    expect(forced.tools).toBeUndefined();
    expect(forced.format).toEqual(forcedCallFormat([WEATHER]));
    expect(forced.options).toEqual({ temperature: 0 });
    expect(forced.messages.map((message) => message.role)).toEqual(['system', 'system', 'user']);
    expect(forced.messages[0]).toBe(llm.messages[0]);
    expect(forced.messages[1].content).toContain('You must call the tool "get_weather"');
    expect(forced.messages[1].content).toContain('Current weather of a city');
    expect(forced.messages[1].content).toContain(JSON.stringify(WEATHER.parameters));
    expect(llm.messages).toHaveLength(2);
  });

  it('puts the description first when the conversation has no system message', () => {
    const forced = forceToolCall({ messages: [{ role: 'user', content: 'Hi' }] }, [WEATHER, TIME]);
    expect(forced.messages[0]).toMatchObject({ role: 'system' });
    expect(forced.messages[0].content).toContain('exactly one of the tools');
    expect(forced.messages[1]).toEqual({ role: 'user', content: 'Hi' });
  });
});

describe(parseForcedCall.name, () => {
  it('turns a valid answer into the call', () => {
    expect(parseForcedCall('{"name":"get_weather","arguments":{"city":"Oslo"}}', [WEATHER, TIME])).toEqual({
      call: { name: 'get_weather', arguments: { city: 'Oslo' } },
    });
    expect(parseForcedCall(' {"name": "get_time", "arguments": {}}\n', [WEATHER, TIME])).toEqual({
      call: { name: 'get_time', arguments: {} },
    });
  });

  it.each([
    ['text', 'I would call get_weather.', /not JSON/],
    ['a cut-off answer', '{"name":"get_weather","argu', /not JSON/],
    ['an array', '[{"name":"get_weather","arguments":{}}]', /not a JSON object/],
    ['a tool that is not allowed', '{"name":"get_time","arguments":{}}', /"get_time", which is not an allowed tool/],
    ['no name', '{"arguments":{"city":"Oslo"}}', /not an allowed tool/],
    ['arguments that are a string', '{"name":"get_weather","arguments":"{\\"city\\":\\"Oslo\\"}"}', /not an object/],
    ['arguments without a required property', '{"name":"get_weather","arguments":{"days":2}}', /lack city/],
  ])('says what is wrong with %s', (_case, content, problem) => {
    const answer = parseForcedCall(content, [WEATHER]);
    expect(answer).toEqual({ problem: expect.stringMatching(problem) });
  });
});
