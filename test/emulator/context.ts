import type { requestTypes } from './request-types';
import type { ModelCatalog } from './model-catalog';
import type { Scheduler } from './scheduler';
import type { TimerSet } from './timers';
import type { EmulatorOptions } from './types';

/** What the request handlers share with the emulator that owns them. */
export interface EmulatorContext {
  readonly options: EmulatorOptions;
  readonly catalog: ModelCatalog;
  readonly scheduler: Scheduler;
  readonly timers: TimerSet;
  readonly types: ReturnType<typeof requestTypes>;
}
