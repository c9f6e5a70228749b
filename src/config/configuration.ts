import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, registerAs } from '@nestjs/config';
import type { AppSettings, Configuration, LlmSettings, OllamaSettings, SecuritySettings } from './environment';

type NamespaceName = keyof Configuration;

/** The injection key of a namespace, as `registerAs(name, …)` registers it. */
function key(name: NamespaceName): { KEY: string } {
  return { KEY: `CONFIGURATION(${name})` };
}

/*
 * Typed namespaces, injected with `@Inject(ollamaConfig.KEY) config: OllamaConfig`. Their values are
 * slices of the one `Configuration` that `main.ts` parsed from the environment at start-up and handed to
 * `createApp`; nothing reads `process.env` after that.
 */
export const appConfig = key('app');
export const ollamaConfig = key('ollama');
export const llmConfig = key('llm');
export const securityConfig = key('security');

export type AppConfig = AppSettings;
export type OllamaConfig = OllamaSettings;
export type LlmConfig = LlmSettings;
export type SecurityConfig = SecuritySettings;

/** Registers every namespace of `config` with `@nestjs/config`, globally. */
@Module({})
export class ConfigurationModule {
  static forRoot(config: Configuration): DynamicModule {
    const names = Object.keys(config) as NamespaceName[];
    return {
      module: ConfigurationModule,
      imports: [
        ConfigModule.forRoot({
          isGlobal: true,
          ignoreEnvFile: true,
          ignoreEnvVars: true,
          load: names.map((name) => registerAs(name, () => config[name])),
        }),
      ],
    };
  }
}
