import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';

/**
 * Bounds one health check, so a probe answers within its deadline even if a check hangs: a check that
 * does not settle in time reports down instead of holding the probe (and Kubernetes' timeout) hostage.
 */
export async function withTimeout(
  indicators: HealthIndicatorService,
  key: string,
  timeoutMs: number,
  check: () => HealthIndicatorResult | Promise<HealthIndicatorResult>,
): Promise<HealthIndicatorResult> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<HealthIndicatorResult>((resolve) => {
    timer = setTimeout(
      () =>
        resolve(indicators.check(key).down({ message: `health check '${key}' did not answer within ${timeoutMs} ms` })),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([Promise.resolve().then(check), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
