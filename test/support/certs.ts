import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** Paths of the same files, for configs that take file names. */
  files: { ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string };
  cleanup(): void;
}

/**
 * A throwaway CA with a server certificate for 127.0.0.1/localhost and a client certificate,
 * made with the openssl CLI (Debian's openssl package). EC keys keep generation fast.
 */
export function createTestPki(options: { serverDays?: number; name?: string } = {}): TestPki {
  const dir = mkdtempSync(join(tmpdir(), `linkmon-pki-${options.name ?? 'test'}-`));
  const path = (f: string) => join(dir, f);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ecKey = (file: string) => openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file);
  ecKey('ca.key');
  openssl('req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', '2', '-subj', '/CN=linkmon test CA', '-out', 'ca.pem');
  const issue = (name: string, subject: string, ext: string, days: number) => {
    ecKey(`${name}.key`);
    openssl('req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', String(days), '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
  };
  writeExt(path('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  writeExt(path('client.ext'), 'extendedKeyUsage=clientAuth\n');
  issue('server', '/CN=localhost', 'server.ext', options.serverDays ?? 1);
  issue('client', '/CN=prometheus', 'client.ext', 1);
  const files = { ca: path('ca.pem'), serverCert: path('server.pem'), serverKey: path('server.key'), clientCert: path('client.pem'), clientKey: path('client.key') };
  return {
    dir,
    files,
    caCert: readFileSync(files.ca, 'utf8'),
    serverCert: readFileSync(files.serverCert, 'utf8'),
    serverKey: readFileSync(files.serverKey, 'utf8'),
    clientCert: readFileSync(files.clientCert, 'utf8'),
    clientKey: readFileSync(files.clientKey, 'utf8'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function writeExt(file: string, text: string): void {
  execFileSync('sh', ['-c', `cat > "${file}"`], { input: text });
}

/** Copies the server certificate, key and CA into `dir` as server.pem, server.key and ca.pem (what the web configs of the tests name). */
export function writeServerFiles(pki: TestPki, dir: string): void {
  copyFileSync(pki.files.serverCert, join(dir, 'server.pem'));
  copyFileSync(pki.files.serverKey, join(dir, 'server.key'));
  copyFileSync(pki.files.ca, join(dir, 'ca.pem'));
}
