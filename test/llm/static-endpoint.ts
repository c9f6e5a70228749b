import { OllamaEndpoint } from '../../src/ollama-process/ollama-endpoint';

/** An Ollama that is simply there, at a fixed URL: for tests of what talks to it. */
export class StaticEndpoint extends OllamaEndpoint {
  constructor(readonly baseUrl: string) {
    super();
  }

  isUp(): boolean {
    return true;
  }

  whenUp(): Promise<void> {
    return Promise.resolve();
  }

  onChange(): () => void {
    return () => undefined;
  }
}
