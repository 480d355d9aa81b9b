#!/usr/bin/env node
// MariaDB Connector/Node.js (npm package `mariadb`) connecting to a MySQL-protocol server
// (MariaDB, or the tandem router) with or without TLS, then running one query.
//
//     node tests/clients/node_tls_check.js --host 127.0.0.1 --port 3306 \
//         --user app --password pw --database app --mode zero-config
//
// --mode:
//   zero-config  ssl: true. Certificate verification is on and no CA is given, so a
//                self-signed server certificate is accepted only through MariaDB 11.4's
//                "zero-configuration SSL": the final OK packet of the login must carry
//                0x01 + hex(SHA-256(password hash || scramble || SHA-256 of the
//                certificate)). Without that proof the connector refuses the connection.
//   ca=PATH      ssl: { ca: <contents of PATH> }, verification on (the certificate must
//                chain to PATH and name the host, e.g. an IP SAN for 127.0.0.1).
//   plain        no TLS.
//
// Runs SELECT 1+1 AS two, checks the answer is 2, prints OK as its last line and exits 0.
// On any error prints the message and exits 1. The TLS protocol and cipher are printed
// for diagnostics only.
//
// tests/run.sh installs the package pinned by tests/clients/package-lock.json into
// target/test-deps/node (npm ci); tests/common/clients.rs puts its node_modules on
// NODE_PATH.
'use strict';

const fs = require('fs');

const CONNECT_TIMEOUT_MS = 10000;
const WATCHDOG_MS = 60000;

function fail(msg) {
  console.log(`node_tls_check: FAILED: ${msg}`);
  process.exit(1);
}

// --key=value or --key value
function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) fail(`unexpected argument ${JSON.stringify(a)}`);
    const eq = a.indexOf('=');
    if (eq >= 0) {
      out[a.slice(2, eq)] = a.slice(eq + 1);
    } else {
      if (i + 1 >= argv.length) fail(`${a} needs a value`);
      out[a.slice(2)] = argv[++i];
    }
  }
  return out;
}

function describe(err) {
  if (!err) return String(err);
  const parts = [err.message || String(err)];
  if (err.code) parts.push(`code=${err.code}`);
  if (err.errno) parts.push(`errno=${err.errno}`);
  if (err.sqlState) parts.push(`sqlState=${err.sqlState}`);
  return parts.join(' ');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  for (const k of ['user', 'database', 'mode']) {
    if (args[k] === undefined) fail(`--${k} is required`);
  }
  const host = args.host || '127.0.0.1';
  const port = Number(args.port || 3306);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) fail(`bad --port ${args.port}`);
  const mode = args.mode;

  let ssl;
  if (mode === 'zero-config') {
    ssl = true;
  } else if (mode.startsWith('ca=')) {
    const path = mode.slice(3);
    let ca;
    try {
      ca = fs.readFileSync(path);
    } catch (e) {
      fail(`cannot read CA file ${path}: ${e.message}`);
    }
    ssl = { ca, rejectUnauthorized: true };
  } else if (mode === 'plain') {
    ssl = undefined;
  } else {
    fail(`unknown --mode ${JSON.stringify(mode)} (zero-config, ca=PATH or plain)`);
  }

  let mariadb;
  try {
    mariadb = require('mariadb');
  } catch (e) {
    fail(`cannot load the mariadb package (NODE_PATH=${process.env.NODE_PATH || ''}): ${e.message}`);
  }
  let version = '?';
  try {
    version = require('mariadb/package.json').version;
  } catch (_) {
    version = mariadb.version || '?';
  }
  console.log(
    `node_tls_check: node ${process.version}, mariadb ${version} -> ${host}:${port}/${args.database} mode ${mode}`
  );

  const opts = {
    host,
    port,
    user: args.user,
    password: args.password === undefined ? '' : args.password,
    database: args.database,
    connectTimeout: CONNECT_TIMEOUT_MS,
    socketTimeout: 30000
  };
  if (ssl !== undefined) opts.ssl = ssl;

  let conn;
  try {
    conn = await mariadb.createConnection(opts);
  } catch (e) {
    fail(`connect: ${describe(e)}`);
  }
  try {
    // Diagnostics only: the connector keeps its socket behind a test hook.
    try {
      const sock = conn.__tests && conn.__tests.getSocket ? conn.__tests.getSocket() : null;
      if (sock && typeof sock.getCipher === 'function') {
        const c = sock.getCipher();
        console.log(
          `node_tls_check: TLS ${sock.getProtocol()} cipher ${c && c.name} ` +
            `authorized=${sock.authorized}` +
            (sock.authorizationError ? ` (${sock.authorizationError})` : '')
        );
      } else if (sock) {
        console.log('node_tls_check: no TLS');
      }
    } catch (_) {
      // not essential
    }
    const rows = await conn.query('SELECT 1+1 AS two');
    const two = rows && rows[0] ? rows[0].two : undefined;
    if (Number(two) !== 2) fail(`SELECT 1+1 AS two returned ${JSON.stringify(rows)}`);
  } catch (e) {
    fail(`query: ${describe(e)}`);
  } finally {
    try {
      await conn.end();
    } catch (_) {
      try {
        conn.destroy();
      } catch (_) {
        // ignore
      }
    }
  }
  console.log('OK');
  process.exit(0);
}

// A bound against hangs, whatever the connector does.
setTimeout(() => fail(`no result after ${WATCHDOG_MS} ms`), WATCHDOG_MS).unref();

main().catch((e) => fail(describe(e)));
