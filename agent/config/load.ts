import { ConfigError, formatIssues, parseYamlMapping, readConfigText } from '../../lib/config-file.js';
import { agentConfigSchema, type AgentConfig } from './schema.js';
import { estimateSeries } from './series.js';

/** Reads, parses and validates a YAML config file. Throws ConfigError with every problem found. */
export async function loadConfigFile(file: string): Promise<AgentConfig> {
  return parseConfigText(await readConfigText(file), file);
}

export function parseConfigText(text: string, file: string): AgentConfig {
  const parsed = agentConfigSchema.safeParse(parseYamlMapping(text, file));
  if (!parsed.success) throw new ConfigError(file, formatIssues(parsed.error.issues));
  const config = parsed.data;
  const series = estimateSeries(config);
  if (series > config.limits.max_series) {
    throw new ConfigError(file, [
      `limits.max_series: this config would export about ${series} series, above the limit of ${config.limits.max_series} (fewer targets, or raise limits.max_series knowing that memory and scrape time grow with it)`,
    ]);
  }
  return config;
}
