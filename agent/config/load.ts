import { ConfigError, formatIssues, parseYamlMapping, readConfigText } from '../../lib/config-file.js';
import { agentConfigSchema, type AgentConfig } from './schema.js';

/** Reads, parses and validates a YAML config file. Throws ConfigError with every problem found. */
export async function loadConfigFile(file: string): Promise<AgentConfig> {
  return parseConfigText(await readConfigText(file), file);
}

export function parseConfigText(text: string, file: string): AgentConfig {
  const parsed = agentConfigSchema.safeParse(parseYamlMapping(text, file));
  if (!parsed.success) throw new ConfigError(file, formatIssues(parsed.error.issues));
  return parsed.data;
}
