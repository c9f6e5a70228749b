/** Facts about the machine a result was measured on, and how busy it was. */
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';

export interface MachineFacts {
  nproc: number;
  cpuModel: string;
  nodeVersion: string;
  totalMemoryMiB: number;
  kernel: string;
}

export function machineFacts(): MachineFacts {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    cpuModel = match?.[1]?.trim() ?? cpuModel;
  } catch {
    // Not Linux: os.cpus() is the best there is.
  }
  let kernel = 'unknown';
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    // Not Linux.
  }
  return {
    nproc: availableParallelism(),
    cpuModel,
    nodeVersion: process.version,
    totalMemoryMiB: Math.round(totalmem() / 1024 / 1024),
    kernel,
  };
}

/** The 1-minute load average, sampled while a benchmark runs. */
export class LoadSampler {
  private readonly samples: number[] = [];
  private timer: NodeJS.Timeout | undefined;

  start(intervalMs = 5_000): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  /** Stops sampling (safe to call twice) and summarises the samples. */
  stop(): { before: number; max: number; mean: number; after: number } {
    clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    const mean = this.samples.reduce((sum, v) => sum + v, 0) / this.samples.length;
    return {
      before: this.samples[0] ?? Number.NaN,
      max: Math.max(...this.samples),
      mean: Math.round(mean * 100) / 100,
      after: this.samples[this.samples.length - 1] ?? Number.NaN,
    };
  }

  private sample(): void {
    this.samples.push(loadavg()[0] ?? Number.NaN);
  }
}

/**
 * Waits (at most `maxWaitSeconds`) until the 1-minute load average has stayed below `threshold` for
 * `quietSeconds`. Returns whether it did; the caller records the load either way.
 */
export async function waitForQuiet(threshold: number, quietSeconds: number, maxWaitSeconds: number): Promise<boolean> {
  const deadline = Date.now() + maxWaitSeconds * 1000;
  let quietSince: number | undefined;
  while (Date.now() < deadline) {
    const load = loadavg()[0] ?? Number.POSITIVE_INFINITY;
    if (load < threshold) {
      quietSince ??= Date.now();
      if (Date.now() - quietSince >= quietSeconds * 1000) {
        return true;
      }
    } else {
      quietSince = undefined;
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
  return false;
}
