/** The performance targets a benchmark checks, each printed as met or not with the measured number. */
import { formatNumber, formatTable, print } from './results';

export interface Goal {
  /** What is measured, e.g. "50 ms upstream, 64 connections: req/s ÷ direct". */
  name: string;
  /** The bound, e.g. "≥ 0.95". */
  target: string;
  /** The measured value, or undefined when it was not measured (say why in `note`). */
  value: number | undefined;
  unit: string;
  met: boolean | undefined;
  note?: string;
}

function goal(name: string, value: number | undefined, unit: string, bound: string, met: boolean): Goal {
  return value === undefined || !Number.isFinite(value)
    ? { name, target: bound, value: undefined, unit, met: undefined }
    : { name, target: bound, value, unit, met };
}

export function atMost(name: string, value: number | undefined, limit: number, unit = ''): Goal {
  return goal(name, value, unit, `≤ ${limit}${unit === '' ? '' : ` ${unit}`}`, value !== undefined && value <= limit);
}

export function atLeast(name: string, value: number | undefined, limit: number, unit = ''): Goal {
  return goal(name, value, unit, `≥ ${limit}${unit === '' ? '' : ` ${unit}`}`, value !== undefined && value >= limit);
}

/** A goal that could not be measured in this tree (e.g. a route that does not exist yet). */
export function notMeasured(name: string, target: string, note: string): Goal {
  return { name, target, value: undefined, unit: '', met: undefined, note };
}

export function printGoals(goals: Goal[]): void {
  print(
    formatTable([
      ['target', 'bound', 'measured', ''],
      ...goals.map((g) => [
        g.name,
        g.target,
        g.value === undefined
          ? (g.note ?? 'not measured')
          : `${formatNumber(g.value)}${g.unit === '' ? '' : ` ${g.unit}`}`,
        g.met === undefined ? '-' : g.met ? 'met' : 'NOT MET',
      ]),
    ]),
  );
}
