// A throw-away TLS identity for the interop suites: a self-signed EC certificate for localhost and
// 127.0.0.1 made at test time with the `openssl` command line tool (no key material in the repository).

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** True when the `openssl` command is available. */
export function hasOpenssl() {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes key.pem and cert.pem to a new temporary folder. Returns { cert, key, ca, remove }: the two file
 * paths, the certificate's PEM text (for a client's `ca` option) and remove() to delete the folder.
 */
export function makeCertificate() {
  const dir = mkdtempSync(join(tmpdir(), "sio-tls-"));
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
    "-keyout", key, "-out", cert,
  ], { stdio: "ignore" });
  return { cert, key, ca: readFileSync(cert, "utf8"), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
