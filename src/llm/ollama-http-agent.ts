import { Inject, Injectable } from '@nestjs/common';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { LlmConfig, llmConfig, OllamaConfig, ollamaConfig } from '../config/configuration';

/** Sockets beyond the inference slots, for warm-up, keep-warm, pulls and model checks. */
const CONTROL_SOCKETS = 4;

/**
 * The one keep-alive connection pool to Ollama. Reusing connections is what makes short requests cheap.
 * `LlmService` destroys it as the last step of its shutdown, after in-flight calls have ended, so
 * this class has no shutdown hook of its own (hooks of one module run concurrently).
 */
@Injectable()
export class OllamaHttpAgent {
  readonly agent: HttpAgent;
  private destroyed = false;

  constructor(@Inject(ollamaConfig.KEY) ollama: OllamaConfig, @Inject(llmConfig.KEY) llm: LlmConfig) {
    const options = { keepAlive: true, maxSockets: llm.maxConcurrency + CONTROL_SOCKETS };
    this.agent = ollama.url.startsWith('https:') ? new HttpsAgent(options) : new HttpAgent(options);
  }

  /** Closes every socket. Safe to call twice. */
  destroy(): void {
    if (!this.destroyed) {
      this.destroyed = true;
      this.agent.destroy();
    }
  }
}
