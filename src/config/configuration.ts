import { ConfigType, registerAs } from '@nestjs/config';
import { parseEnvironment } from './environment';

/*
 * Typed namespaces. Each factory reads the environment when the application is created (not when this
 * file is imported), so one process can build several applications with different settings.
 * `main.ts` validates the environment before anything else and exits with the full list of problems.
 */
export const appConfig = registerAs('app', () => parseEnvironment(process.env).app);
export const ollamaConfig = registerAs('ollama', () => parseEnvironment(process.env).ollama);
export const llmConfig = registerAs('llm', () => parseEnvironment(process.env).llm);
export const securityConfig = registerAs('security', () => parseEnvironment(process.env).security);

export type AppConfig = ConfigType<typeof appConfig>;
export type OllamaConfig = ConfigType<typeof ollamaConfig>;
export type LlmConfig = ConfigType<typeof llmConfig>;
export type SecurityConfig = ConfigType<typeof securityConfig>;

export const allConfigNamespaces = [appConfig, ollamaConfig, llmConfig, securityConfig];
