/** The tools of the SDK tool-call tests, and checks of the calls the gateway answers. */
import type OpenAI from 'openai';
import { useOpenAiGateway, type OpenAiGateway } from './gateway';
import { openAiClient, startModelsGateway } from './models-gateway';

export const WEATHER_PARAMETERS = {
  type: 'object',
  properties: {
    city: { type: 'string', description: 'City name' },
    unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
  },
  required: ['city', 'unit'],
};
export const TIME_PARAMETERS = {
  type: 'object',
  properties: { timezone: { type: 'string', enum: ['UTC', 'CET'] } },
  required: ['timezone'],
};
export const WEATHER: OpenAI.ChatCompletionFunctionTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'Current weather of a city', parameters: WEATHER_PARAMETERS },
};
export const TIME: OpenAI.ChatCompletionFunctionTool = {
  type: 'function',
  function: { name: 'get_time', description: 'Current time in a timezone', parameters: TIME_PARAMETERS },
};
export const TOOLS = [WEATHER, TIME];
export const ASK: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'What is the weather in Oslo?' }];
export const CALL_ID = /^call_\w+$/;
export const LONG_REPLY = Array.from({ length: 200 }, (_, index) => `word${index}`).join(' ');

/** Arguments as the schema of get_weather or get_time demands: every required key, enums respected. */
export function expectValidArguments(call: OpenAI.ChatCompletionMessageFunctionToolCall): Record<string, unknown> {
  const args = JSON.parse(call.function.arguments) as Record<string, unknown>;
  if (call.function.name === 'get_weather') {
    expect(typeof args.city).toBe('string');
    expect(['celsius', 'fahrenheit']).toContain(args.unit);
  } else {
    expect(call.function.name).toBe('get_time');
    expect(['UTC', 'CET']).toContain(args.timezone);
  }
  return args;
}

export function functionCalls(message: OpenAI.ChatCompletionMessage): OpenAI.ChatCompletionMessageFunctionToolCall[] {
  return (message.tool_calls ?? []).filter(
    (call): call is OpenAI.ChatCompletionMessageFunctionToolCall => call.type === 'function',
  );
}

/** The models gateway for an SDK tool-call spec's file, with an openai client of it (`useOpenAiGateway`). */
export function useToolsGateway(): OpenAiGateway {
  return useOpenAiGateway(
    () => startModelsGateway(),
    (gateway) => openAiClient(gateway),
  );
}
