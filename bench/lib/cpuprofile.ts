/** Reads a V8 `.cpuprofile` (as `node --cpu-prof` writes it) into self-time tables. */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  /** Microseconds between consecutive samples. */
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  /** Milliseconds of samples in this function (not in its callees). */
  selfMs: number;
  /** Share of the busy time (idle excluded), in percent. */
  busyPercent: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  busyMs: number;
  byFunction: SelfTime[];
  /** The same samples grouped by where the code lives: a package, Node's internals, the service, GC. */
  byOrigin: SelfTime[];
  /** Time with the function anywhere on the stack (callees included), recursion counted once. */
  inclusive: SelfTime[];
  /** With `callers`: the self time of the matching functions by the chain of frames that called them. */
  callers: SelfTime[];
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** `node_modules/<pkg>` (scoped too), `node:internal`, the service's own `dist/` code, or a V8 category. */
export function originOf(frame: ProfileNode['callFrame']): string {
  if (SPECIAL.has(frame.functionName) && frame.url === '') {
    return frame.functionName;
  }
  const url = frame.url;
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules?.[1] !== undefined) {
    return modules[1];
  }
  if (url.startsWith('node:')) {
    return 'node (internals)';
  }
  if (url === '') {
    return '(native)';
  }
  const own = /\/dist\/(.+?)\/[^/]+\.js$/.exec(url);
  if (own?.[1] !== undefined) {
    return `service: ${own[1]}`;
  }
  return /\/dist\/[^/]+\.js$/.test(url) ? 'service: (root)' : url;
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    return url.slice(modules + 'node_modules/'.length);
  }
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) {
    return url.slice(dist + 1);
  }
  return url.replace(/^file:\/\//, '');
}

function functionKey(frame: ProfileNode['callFrame']): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  return frame.url === '' ? name : `${name}  ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
}

function toTable(times: Map<string, number>, busyMs: number, top: number): SelfTime[] {
  return [...times.entries()]
    .map(([name, ms]) => ({
      name,
      selfMs: Math.round(ms * 10) / 10,
      busyPercent: Math.round((ms / busyMs) * 1000) / 10,
    }))
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, top);
}

export interface SummaryOptions {
  /** Rows per table. */
  top?: number;
  /** When given, `inclusive` lists only functions whose name or location contains it. */
  focus?: string;
  /** Ignores the samples of the first milliseconds of the profile (the process's start-up). */
  skipMs?: number;
  /** When given, `callers` splits the self time of the functions matching it by who called them. */
  callers?: string;
  /** Frames of each caller chain in `callers` (default 4). */
  callerDepth?: number;
}

export function summarizeProfile(
  path: string,
  { top = 30, focus, skipMs = 0, callers, callerDepth = 4 }: SummaryOptions = {},
): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) {
      parentOf.set(child, node.id);
    }
  }
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time since the previous sample: it is spent where sample i - 1 was taken.
  let elapsedUs = profile.timeDeltas[0] ?? 0;
  for (let i = 1; i < profile.samples.length; i++) {
    elapsedUs += profile.timeDeltas[i] ?? 0;
    const id = profile.samples[i - 1];
    if (id !== undefined && elapsedUs >= skipMs * 1000) {
      selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
    }
  }
  const byFunction = new Map<string, number>();
  const byOrigin = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const byCaller = new Map<string, number>();
  let idleMs = 0;
  let totalMs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) {
      continue;
    }
    const ms = us / 1000;
    totalMs += ms;
    if (node.callFrame.functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    const key = functionKey(node.callFrame);
    byFunction.set(key, (byFunction.get(key) ?? 0) + ms);
    const origin = originOf(node.callFrame);
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + ms);
    if (callers !== undefined && key.includes(callers)) {
      const chain: string[] = [];
      for (let at = parentOf.get(id); at !== undefined && chain.length < callerDepth; at = parentOf.get(at)) {
        const frame = byId.get(at)?.callFrame;
        if (frame !== undefined && frame.functionName !== '(root)') {
          chain.push(functionKey(frame));
        }
      }
      const caller = `${key} ← ${chain.join(' ← ')}`;
      byCaller.set(caller, (byCaller.get(caller) ?? 0) + ms);
    }
    const onStack = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (frame !== undefined && frame.functionName !== '(root)') {
        onStack.add(functionKey(frame));
      }
    }
    for (const name of onStack) {
      if (focus === undefined || name.includes(focus)) {
        inclusive.set(name, (inclusive.get(name) ?? 0) + ms);
      }
    }
  }
  const busyMs = totalMs - idleMs;
  return {
    totalMs: Math.round(totalMs),
    idleMs: Math.round(idleMs),
    busyMs: Math.round(busyMs),
    byFunction: toTable(byFunction, busyMs, top),
    byOrigin: toTable(byOrigin, busyMs, top),
    inclusive: toTable(inclusive, busyMs, top),
    callers: toTable(byCaller, busyMs, top),
  };
}
