// SPDX-License-Identifier: Apache-2.0
//
// Start `opml-node --dev --tmp` on free loopback ports and stop it again (also when
// the test fails or the process exits early). The binary is `$OPML_NODE_BIN`, else
// `$CARGO_TARGET_DIR/debug/opml-node` (CARGO_TARGET_DIR defaults to
// ~/.cache/opml-target, as in ../scripts/test).

import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The directory cargo builds into. */
export function targetDir() {
  return process.env.CARGO_TARGET_DIR || join(homedir(), '.cache', 'opml-target');
}

/** The `opml-node` binary to test. */
export function nodeBinary() {
  return process.env.OPML_NODE_BIN || join(targetDir(), 'debug', 'opml-node');
}

/** A TCP port that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/**
 * Start a dev node. Returns `{ url, logPath, log(), tail(n), stop({ keepLog }) }`;
 * `stop()` is idempotent, and the node is killed anyway when this process exits or
 * gets SIGINT/SIGTERM.
 */
export async function startDevNode({ blockMs = 500, timeoutMs = 60_000 } = {}) {
  const bin = nodeBinary();
  if (!existsSync(bin)) {
    throw new Error(
      `opml-node not found at ${bin}: build it (cargo build -p opml-node) or set OPML_NODE_BIN`,
    );
  }
  const [rpcPort, p2pPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'opml-js-'));
  const logPath = join(dir, 'node.log');
  const logFd = openSync(logPath, 'w');
  const args = [
    '--dev', '--tmp',
    '--dev-block-time', String(blockMs),
    '--rpc-port', String(rpcPort),
    '--port', String(p2pPort),
    '--no-prometheus', '--no-telemetry', '--no-mdns',
  ];
  const child = spawn(bin, args, { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  let exited = null;
  const exit = new Promise((resolve) => {
    child.once('exit', (code, signal) => { exited = { code, signal }; resolve(exited); });
  });
  child.once('error', (e) => { exited = { error: e }; });
  // Last resort: never leave the node behind, whatever happens to this process.
  const onExit = () => { if (!exited) child.kill('SIGKILL'); };
  const onSignal = (sig) => { onExit(); process.exit(sig === 'SIGINT' ? 130 : 143); };
  process.once('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const log = () => { try { return readFileSync(logPath, 'utf8'); } catch { return ''; } };
  const tail = (n = 40) => log().split('\n').slice(-n).join('\n');

  let stopped = false;
  // Stops the node; removes its log too unless `keepLog`.
  const stop = async ({ keepLog = true } = {}) => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    if (!exited) {
      child.kill('SIGTERM');
      const grace = new AbortController();
      const done = await Promise.race([exit, sleep(10_000, null, { signal: grace.signal }).catch(() => null)]);
      grace.abort();
      if (!done) { child.kill('SIGKILL'); await exit; }
    }
    if (!keepLog) rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  while (!(await canConnect(rpcPort))) {
    if (exited) {
      await stop();
      throw new Error(`opml-node exited early (${JSON.stringify(exited)}); log ${logPath}:\n${tail()}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`opml-node's RPC did not open within ${timeoutMs} ms; log ${logPath}:\n${tail()}`);
    }
    await sleep(200);
  }
  return { url: `ws://127.0.0.1:${rpcPort}`, rpcPort, pid: child.pid, bin, args, logPath, log, tail, stop };
}
