/**
 * Real TLS handshakes against leaves from LeafCertificates, served the way the recorder serves
 * them (a TLSSocket over an accepted socket: the CONNECT host as default, the SNI name if sent),
 * checked by Node and by strict third-party clients: openssl verify -x509_strict, curl, and
 * Python's ssl with VERIFY_X509_STRICT (Python 3.13's default). The tools must be installed: a
 * missing one fails the test with the Debian package to add (see helpers.ts).
 */
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateCa, type RootCa } from '../../src/tls/ca.js';
import { LeafCertificates } from '../../src/tls/leaf-certs.js';
import { requireTool, runTool, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let ca: RootCa;
let stranger: RootCa;
let leaves: LeafCertificates;
let server: net.Server;
let port: number;
const sockets = new Set<net.Socket>();

/** A TLS server on 127.0.0.1: leaf for 127.0.0.1 without SNI, for the SNI name with. Answers HTTP with "ok <sni>". */
async function startServer(): Promise<void> {
  server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const secure = new tls.TLSSocket(socket, {
      isServer: true,
      secureContext: leaves.contextFor('127.0.0.1'),
      SNICallback: (servername, callback) => {
        try {
          callback(null, leaves.contextFor(servername));
        } catch (error) {
          callback(error as Error);
        }
      },
      ALPNProtocols: ['http/1.1'],
    });
    secure.on('error', () => secure.destroy());
    let head = '';
    secure.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        const body = `ok ${(secure as tls.TLSSocket & { servername?: string | false }).servername || '-'}\n`;
        secure.end(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  [ca, stranger] = await Promise.all([loadOrCreateCa(path.join(dir, 'ca')), loadOrCreateCa(path.join(dir, 'stranger'))]);
  leaves = await new LeafCertificates(ca).ready();
  await startServer();
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await cleanup();
});

interface Handshake {
  authorized: boolean;
  error: string | undefined;
  subjectaltname: string | undefined;
  chainLength: number;
}

function nodeHandshake(options: tls.ConnectionOptions): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
    socket.once('secureConnect', () => {
      // checkServerIdentity is only run by Node when rejectUnauthorized is set; run it here.
      const peer = socket.getPeerCertificate(true);
      const identity = tls.checkServerIdentity(options.servername ?? '127.0.0.1', peer);
      let chainLength = 0;
      for (
        let cert: tls.DetailedPeerCertificate | undefined = peer;
        cert && chainLength < 5;
        cert = cert.issuerCertificate === cert ? undefined : cert.issuerCertificate
      ) {
        chainLength += 1;
      }
      resolve({
        authorized: socket.authorized && identity === undefined,
        error: socket.authorizationError?.toString() ?? identity?.message,
        subjectaltname: peer.subjectaltname,
        chainLength,
      });
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe('Node TLS client', () => {
  it('servername localhost: authorized, the leaf names localhost and the root comes as chain', async () => {
    const result = await nodeHandshake({ ca: [ca.certPem], servername: 'localhost' });
    expect(result).toMatchObject({ authorized: true, error: undefined, subjectaltname: 'DNS:localhost' });
    expect(result.chainLength).toBe(2);
  });

  it('an IP address (no SNI): authorized by the IP SAN', async () => {
    const result = await nodeHandshake({ ca: [ca.certPem] });
    expect(result).toMatchObject({ authorized: true, subjectaltname: 'IP Address:127.0.0.1' });
  });

  it('strict verification on: rejectUnauthorized with the CA connects', async () => {
    await new Promise<void>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, ca: [ca.certPem], servername: 'api.example.com', rejectUnauthorized: true }, () => {
        expect(socket.authorized).toBe(true);
        socket.destroy();
        resolve();
      });
      socket.once('error', reject);
    });
  });

  it("another install's root does not verify our leaves", async () => {
    const result = await nodeHandshake({ ca: [stranger.certPem], servername: 'localhost' });
    expect(result.authorized).toBe(false);
    expect(result.error).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify|self.signed/i);
  });

  it('with no CA given (Node defaults), the leaf is not trusted', async () => {
    const result = await nodeHandshake({ servername: 'localhost' });
    expect(result.authorized).toBe(false);
  });
});

describe('openssl verify -x509_strict', () => {
  let openssl: string;
  let caFile: string;
  beforeAll(async () => {
    openssl = requireTool('openssl');
    caFile = ca.paths.cert;
    for (const host of ['localhost', '127.0.0.1', '::1', 'deep.sub.example.com']) {
      await writeFile(path.join(dir, `leaf-${host.replace(/:/g, '_')}.pem`), leaves.certificateFor(host).certPem);
    }
  });
  const leafFile = (host: string): string => path.join(dir, `leaf-${host.replace(/:/g, '_')}.pem`);

  it('the root verifies as a strict self-signed CA', async () => {
    const result = await runTool(openssl, ['verify', '-x509_strict', '-CAfile', caFile, caFile]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it.each([
    ['localhost', ['-verify_hostname', 'localhost']],
    ['deep.sub.example.com', ['-verify_hostname', 'deep.sub.example.com']],
    ['127.0.0.1', ['-verify_ip', '127.0.0.1']],
    ['::1', ['-verify_ip', '::1']],
  ])('leaf %s: OK for TLS servers, host and address checked', async (host, check) => {
    const result = await runTool(openssl, ['verify', '-x509_strict', '-purpose', 'sslserver', ...check, '-CAfile', caFile, leafFile(host)]);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe(`${leafFile(host)}: OK`);
    expect(result.code).toBe(0);
  });

  it('the wrong name or the wrong root fails (the tool really checks)', async () => {
    const wrongName = await runTool(openssl, ['verify', '-x509_strict', '-verify_hostname', 'example.org', '-CAfile', caFile, leafFile('localhost')]);
    expect(wrongName.code).not.toBe(0);
    expect(wrongName.stdout + wrongName.stderr).toMatch(/hostname mismatch/i);
    const wrongRoot = await runTool(openssl, ['verify', '-x509_strict', '-CAfile', stranger.paths.cert, leafFile('localhost')]);
    expect(wrongRoot.code).not.toBe(0);
  });
});

describe('curl', () => {
  let curl: string;
  beforeAll(() => {
    curl = requireTool('curl');
  });

  it.each([
    ['localhost', [], 'ok localhost'],
    ['127.0.0.1', [], 'ok -'],
    ['api.example.test', ['--resolve', 'api.example.test:PORT:127.0.0.1'], 'ok api.example.test'],
  ])('https://%s with --cacert ca.pem', async (host, extra, body) => {
    const args = [...extra.map((arg) => arg.replace('PORT', String(port))), '-sS', '--max-time', '10', '--cacert', ca.paths.cert, `https://${host}:${port}/`];
    const result = await runTool(curl, args);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe(body);
    expect(result.code).toBe(0);
  });

  it("refuses another install's root (exit 60)", async () => {
    const result = await runTool(curl, ['-sS', '--max-time', '10', '--cacert', stranger.paths.cert, `https://localhost:${port}/`]);
    expect(result.code).toBe(60);
  });
});

describe('Python ssl with VERIFY_X509_STRICT', () => {
  let python: string;
  // Python 3.13's create_default_context() sets VERIFY_X509_STRICT and VERIFY_X509_PARTIAL_CHAIN;
  // set them explicitly so older Pythons check as strictly.
  const script = `
import ssl, socket, sys
cafile, port, server_hostname = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=cafile)
ctx.verify_flags |= ssl.VERIFY_X509_STRICT
if hasattr(ssl, "VERIFY_X509_PARTIAL_CHAIN"):
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
    with ctx.wrap_socket(sock, server_hostname=server_hostname) as conn:
        sans = [value for kind, value in conn.getpeercert()["subjectAltName"]]
        print(conn.version(), ",".join(sans), bool(ctx.verify_flags & ssl.VERIFY_X509_STRICT))
`;
  beforeAll(() => {
    python = requireTool('python3');
  });

  it.each([
    ['localhost', 'localhost'],
    ['127.0.0.1', '127.0.0.1'],
    ['ws.example.com', 'ws.example.com'],
  ])('server_hostname %s: verified', async (hostname, san) => {
    const result = await runTool(python, ['-c', script, ca.paths.cert, String(port), hostname]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(new RegExp(`^TLSv1\\.[23] ${san.replace(/\./g, '\\.')} True$`));
  });

  it("another install's root: CERTIFICATE_VERIFY_FAILED", async () => {
    const result = await runTool(python, ['-c', script, stranger.paths.cert, String(port), 'localhost']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('CERTIFICATE_VERIFY_FAILED');
  });
});

describe('control: the strict checks above are really strict', () => {
  // A leaf signed by the same root but without authorityKeyIdentifier, made by openssl itself:
  // strict OpenSSL and strict Python must refuse it, so their passing our leaves means something.
  let controlPort: number;
  let controlServer: tls.Server;
  let leafPath: string;
  beforeAll(async () => {
    const openssl = requireTool('openssl');
    const base = path.join(dir, 'no-aki');
    const ext = `${base}.ext`;
    await writeFile(
      ext,
      'basicConstraints=critical,CA:FALSE\nsubjectAltName=DNS:localhost\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectKeyIdentifier=none\nauthorityKeyIdentifier=none\n',
    );
    leafPath = `${base}.pem`;
    const csr = await runTool(openssl, [
      'req',
      '-new',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${base}.key`,
      '-subj',
      '/CN=localhost',
      '-out',
      `${base}.csr`,
    ]);
    expect(csr.code).toBe(0);
    const signed = await runTool(openssl, [
      'x509',
      '-req',
      '-in',
      `${base}.csr`,
      '-CA',
      ca.paths.cert,
      '-CAkey',
      ca.paths.key,
      '-set_serial',
      '0x4242',
      '-days',
      '30',
      '-sha256',
      '-extfile',
      ext,
      '-out',
      leafPath,
    ]);
    expect(signed.code).toBe(0);
    controlServer = tls.createServer({ key: await readFile(`${base}.key`), cert: await readFile(leafPath) }, (socket) => socket.end());
    controlServer.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => controlServer.listen(0, '127.0.0.1', resolve));
    controlPort = (controlServer.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => controlServer.close(() => resolve()));
  });

  it('openssl verify -x509_strict refuses a leaf without authorityKeyIdentifier', async () => {
    const result = await runTool(requireTool('openssl'), ['verify', '-x509_strict', '-CAfile', ca.paths.cert, leafPath]);
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/Missing Authority Key Identifier/i);
    const lax = await runTool(requireTool('openssl'), ['verify', '-CAfile', ca.paths.cert, leafPath]);
    expect(lax.code).toBe(0);
  });

  it('Python with VERIFY_X509_STRICT refuses it', async () => {
    const script = `
import ssl, socket, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
ctx.verify_flags |= ssl.VERIFY_X509_STRICT
with socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=10) as sock:
    with ctx.wrap_socket(sock, server_hostname="localhost") as conn:
        print(conn.version())
`;
    const result = await runTool(requireTool('python3'), ['-c', script, ca.paths.cert, String(controlPort)]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/CERTIFICATE_VERIFY_FAILED.*Missing Authority Key Identifier/);
  });
});
