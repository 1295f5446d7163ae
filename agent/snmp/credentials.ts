import { readSecretFile } from '../../lib/config-file.js';
import type { SnmpDeviceConfig } from '../config/schema.js';
import { SnmpPollError } from './errors.js';

export type SnmpCredentials =
  | { version: 'v2c'; community: string }
  | {
      version: 'v3';
      user: string;
      authProtocol: NonNullable<SnmpDeviceConfig['v3']>['auth_protocol'];
      authPassword: string;
      privProtocol: NonNullable<SnmpDeviceConfig['v3']>['priv_protocol'];
      privPassword: string;
    };

/** USM derives keys from passwords of at least 8 characters (RFC 3414 §11.2). */
const USM_MIN_PASSWORD_LENGTH = 8;

/**
 * Reads a device's secrets from the configured files or environment variables. Read again each time
 * a session is opened, so a rotated secret is picked up after the next failure. Problems name the
 * config field (`at`, e.g. "snmp.devices[0]") and the file or variable, never the secret.
 */
export async function readCredentials(device: SnmpDeviceConfig, at: string, env: NodeJS.ProcessEnv = process.env): Promise<SnmpCredentials> {
  if (device.version === 'v2c') {
    return { version: 'v2c', community: await readSecret(`${at}.community`, device.community_file, device.community_env, env) };
  }
  const v3 = device.v3;
  if (!v3) throw new SnmpPollError('auth', `${at}.v3: missing (config validation should have caught this)`);
  const authPassword = await readSecret(`${at}.v3.auth_password`, v3.auth_password_file, v3.auth_password_env, env, USM_MIN_PASSWORD_LENGTH);
  const privPassword = await readSecret(`${at}.v3.priv_password`, v3.priv_password_file, v3.priv_password_env, env, USM_MIN_PASSWORD_LENGTH);
  return { version: 'v3', user: v3.user, authProtocol: v3.auth_protocol, authPassword, privProtocol: v3.priv_protocol, privPassword };
}

async function readSecret(field: string, file: string | undefined, envName: string | undefined, env: NodeJS.ProcessEnv, minLength = 1): Promise<string> {
  let value: string;
  let source: string;
  if (file !== undefined) {
    source = `${field}_file "${file}"`;
    const read = await readSecretFile(file, `${field}_file`);
    if ('problem' in read) throw new SnmpPollError('auth', read.problem);
    value = read.toString('utf8').replace(/\r?\n$/, '');
  } else if (envName !== undefined) {
    source = `${field}_env "${envName}"`;
    const fromEnv = env[envName];
    if (fromEnv === undefined) throw new SnmpPollError('auth', `${source}: environment variable not set`);
    value = fromEnv;
  } else {
    throw new SnmpPollError('auth', `${field}: neither a file nor an environment variable is configured`);
  }
  if (value.length === 0) throw new SnmpPollError('auth', `${source} is empty`);
  if (value.length < minLength) throw new SnmpPollError('auth', `${source} is shorter than ${minLength} characters (SNMPv3 USM minimum)`);
  return value;
}
