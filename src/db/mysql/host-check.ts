/**
 * VERIFY_IDENTITY's host name check, made before the login. mysql2 checks the certificate against the host
 * only when the host is a name: for an IP address it gives TLS no server name, and Node then checks the
 * certificate against "localhost", so a certificate for localhost passed for 127.0.0.1 (and for any other
 * address). So the connection is made with mysql2's core API, whose `startTLS` (an internal method) gets this
 * check before the credentials go out, and is wrapped in mysql2's promise connection as
 * `mysql.createConnection` does it.
 */
import { checkServerIdentity, type TLSSocket } from 'node:tls';
import mysqlCore, { type ConnectionOptions } from 'mysql2';
import mysql from 'mysql2/promise';

type OnSecure = (error?: Error) => void;
interface CoreInternals {
  startTLS?: (this: CoreInternals, onSecure: OnSecure) => void;
  stream?: TLSSocket;
}
type PromiseConnectionClass = new (core: unknown, promise: PromiseConstructor) => mysql.Connection;

export function connectCheckingHost(options: ConnectionOptions, host: string): Promise<mysql.Connection> {
  const core = mysqlCore.createConnection(options);
  const internals = core as unknown as CoreInternals;
  const startTLS = internals.startTLS;
  if (typeof startTLS !== 'function') {
    core.destroy();
    throw new Error('this is a bug in cache-migrate: mysql2 has no startTLS to check the host name in');
  }
  internals.startTLS = function (onSecure) {
    startTLS.call(this, (error) => {
      const cert = error ? undefined : this.stream?.getPeerCertificate(true);
      onSecure(
        error ?? (cert ? checkServerIdentity(host, cert) : new Error('the server sent no certificate')),
      );
    });
  };
  return new Promise((resolve, reject) => {
    core.once('connect', () =>
      resolve(new (mysql.Connection as unknown as PromiseConnectionClass)(core, Promise)),
    );
    core.once('error', reject);
  });
}
