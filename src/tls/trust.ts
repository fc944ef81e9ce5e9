/**
 * How to make each kind of client trust the wstape root, as commands to copy. Printed by
 * `wstape ca info`, and the same list is explained (with how to undo each) in docs/TLS.md.
 */

export interface TrustStep {
  /** Stable id: "node", "curl", "python", "chromium-linux", "firefox-linux", "debian", "macos", "windows". */
  id: string;
  /** Who it is for, for people. */
  client: string;
  /** The command (or variable) to use, with the certificate's path filled in. */
  command: string;
}

/** Quote a path for a POSIX shell when it needs it. */
export function shellQuote(text: string): string {
  if (/^[A-Za-z0-9_/.,:=@%+-]+$/.test(text)) return text;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function windowsQuote(text: string): string {
  return /[\s&()^|<>"]/.test(text) ? `"${text.replace(/"/g, '')}"` : text;
}

/** The trust commands for the certificate at `certPath` (ca.pem). */
export function trustSteps(certPath: string): TrustStep[] {
  const cert = shellQuote(certPath);
  return [
    { id: 'node', client: 'Node.js', command: `NODE_EXTRA_CA_CERTS=${cert} node app.js` },
    { id: 'curl', client: 'curl', command: `curl --cacert ${cert} https://...` },
    {
      id: 'python',
      client: 'Python',
      command: `SSL_CERT_FILE=${cert} (ssl, httpx, aiohttp); REQUESTS_CA_BUNDLE=${cert} (requests)`,
    },
    {
      id: 'chromium-linux',
      client: 'Chromium/Chrome (Linux)',
      // A fresh HOME has no NSS database yet: create it (empty password) before adding the CA.
      command: `mkdir -p $HOME/.pki/nssdb && { test -f $HOME/.pki/nssdb/cert9.db || certutil -d sql:$HOME/.pki/nssdb -N --empty-password; } && certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n wstape -i ${cert}`,
    },
    {
      id: 'firefox-linux',
      client: 'Firefox (Linux)',
      command: `certutil -d sql:$HOME/.mozilla/firefox/PROFILE.default-release -A -t "C,," -n wstape -i ${cert}`,
    },
    {
      id: 'debian',
      client: 'Debian/Ubuntu system store',
      command: `sudo cp ${cert} /usr/local/share/ca-certificates/wstape.crt && sudo update-ca-certificates`,
    },
    {
      id: 'macos',
      client: 'macOS',
      command: `sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain ${cert}`,
    },
    { id: 'windows', client: 'Windows (administrator prompt)', command: `certutil -addstore -f ROOT ${windowsQuote(certPath)}` },
  ];
}
