export const RISK_LEVELS = ['low', 'medium', 'high', 'critical'] as const;

export type RiskLevel = (typeof RISK_LEVELS)[number];

/** CONTRACT §2: the level follows from the score alone (0-24 low, 25-49 medium, 50-74 high, 75-100 critical). */
export function riskLevelFor(score: number): RiskLevel {
  if (score >= 75) {
    return 'critical';
  }
  if (score >= 50) {
    return 'high';
  }
  if (score >= 25) {
    return 'medium';
  }
  return 'low';
}
