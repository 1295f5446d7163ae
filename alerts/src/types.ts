/** Prometheus rule-file shapes, typed so generated rules cannot miss a required field. */
export interface RecordingRule {
  record: string;
  expr: string;
  labels?: Record<string, string>;
}

export type Severity = 'page' | 'ticket' | 'info';

export interface AlertingRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: Severity } & Record<string, string>;
  annotations: { summary: string; description: string; runbook_url: string } & Record<string, string>;
}

export interface RuleGroup {
  name: string;
  interval?: string;
  rules: Array<RecordingRule | AlertingRule>;
}
