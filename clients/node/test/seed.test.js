'use strict';
// Runs the seed README's Node.js usage against a live `miniodb serve`
// (MINIODB_BIN, default ../../bin/miniodb) on free loopback ports.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const { newClient, call, grpc } = require('../olap');
const { rest, restWalkthrough, grpcWalkthrough } = require('../seed_example');

const BIN = process.env.MINIODB_BIN || path.resolve(__dirname, '..', '..', '..', 'bin', 'miniodb');

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitHealthy(base, proc, deadlineMs) {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}`);
    try {
      const res = await fetch(base + '/v1/health');
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('server did not become healthy');
    await new Promise((r) => setTimeout(r, 100));
  }
}

let server;
let logs = '';
let base;
let grpcAddr;
let dataDir;

before(async () => {
  assert.ok(fs.existsSync(BIN), `miniodb binary not found at ${BIN}: run make build or set MINIODB_BIN`);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'miniodb-node-'));
  grpcAddr = `127.0.0.1:${await freePort()}`;
  const restAddr = `127.0.0.1:${await freePort()}`;
  base = `http://${restAddr}`;
  server = spawn(BIN, ['serve', '--data-dir', dataDir, '--grpc-addr', grpcAddr, '--rest-addr', restAddr], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout.on('data', (d) => (logs += d));
  server.stderr.on('data', (d) => (logs += d));
  try {
    await waitHealthy(base, server, 60_000);
  } catch (err) {
    throw new Error(`${err.message}\n${logs.slice(-4000)}`);
  }
});

after(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('REST walk-through of the seed README', async () => {
  const r = await restWalkthrough(base);
  assert.equal(r.health.status, 200);
  assert.equal(r.health.body.status, 'healthy');
  assert.ok(r.health.requestId, 'x-request-id header');
  assert.equal(r.stats.status, 200);
  assert.equal(typeof r.stats.body.buffer_stats.buffered_rows, 'number');
  assert.deepEqual(r.createUsers.body, { success: true, message: 'table users created' });
  assert.equal(r.createProducts.status, 200);
  assert.equal(r.createOrders.status, 200);
  assert.deepEqual(r.list.body.tables.map((t) => t.name), ['orders', 'products', 'users']);
  assert.equal(r.write.status, 200);
  assert.equal(r.write.body.rows_written, 1);
  assert.equal(r.writeOrder.body.rows_written, 1);
  assert.deepEqual(r.count.body.rows, [{ 'count_star()': 1 }]);
  assert.deepEqual(r.join.body.rows, [{ name: 'John Doe', amount: 42.5 }]);
  assert.equal(r.describe.body.table_info.config.buffer_size, 1000);
  assert.equal(r.describe.body.table_info.config.retention_days, 365);
  assert.equal(r.describe.body.stats.record_count, 1);
  // Metadata backups are real: the manual backup appears in the list; the
  // seed's example file name does not exist, so recover/validate say 404.
  for (const name of ['backup', 'backups', 'metadataStatus']) {
    assert.equal(r[name].status, 200, name);
  }
  assert.ok(JSON.stringify(r.backups.body).includes('backup_'), 'the new backup is listed');
  for (const name of ['recover', 'validate']) {
    assert.equal(r[name].status, 404, name);
    assert.equal(r[name].body.status, 'NOT_FOUND', name);
  }
  assert.equal(r.pool.body.pools[0].name, 'duckdb');
  assert.equal(r.dropProducts.status, 200);
});

test('REST errors are JSON {code, message} with the HTTP status', async () => {
  const missing = await rest(base, 'GET', '/v1/tables/nope');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.code, 5);
  assert.match(missing.body.message, /nope/);
  const bad = await rest(base, 'POST', '/v1/query', { sql: 'SELEKT 1' });
  assert.equal(bad.status, 400);
  const conflict = await rest(base, 'POST', '/v1/data', { table: 'users', id: 'x', payload: { age: 'old' } });
  assert.equal(conflict.status, 400);
  assert.match(conflict.body.message, /age/);
});

test('OlapService walk-through of the seed README', async () => {
  const r = await grpcWalkthrough(grpcAddr);
  assert.equal(r.createTable.success, true);
  assert.equal(r.write.success, true);
  assert.equal(r.write.rows_written, 1);
  assert.deepEqual(JSON.parse(r.query.result_json), [{ n: 1, name: 'John' }]);
  assert.equal(r.describe.table_info.config.properties.owner, 'user-service');
  assert.equal(r.health.status, 'healthy');
  assert.equal(r.nodes.total, 1);
  assert.ok(r.list.tables.some((t) => t.name === 'grpc_users'));
  assert.equal(typeof r.stats.wal_stats.last_lsn, 'number');
});

test('OlapService errors carry gRPC status codes', async () => {
  const client = newClient(grpcAddr);
  try {
    await assert.rejects(call(client, 'describeTable', { table_name: 'nope' }), (e) => e.code === grpc.status.NOT_FOUND);
    await assert.rejects(call(client, 'triggerBackup', { table: 'grpc_users' }), (e) => e.code === grpc.status.UNIMPLEMENTED);
    await assert.rejects(call(client, 'recoverData', { id_range: { ids: ['user-123'] } }), (e) => e.code === grpc.status.UNIMPLEMENTED);
    // The README's {string_value: ...} spelling is dropped by protobufjs;
    // the server names the field instead of storing a NULL.
    await assert.rejects(
      call(client, 'write', { table: 'grpc_users', id: 'x', payload: { fields: { name: { string_value: 'John' } } } }),
      (e) => e.code === grpc.status.INVALID_ARGUMENT && /"name"/.test(e.details),
    );
    await assert.rejects(call(client, 'query', { sql: 'DROP TABLE grpc_users' }), (e) => e.code === grpc.status.PERMISSION_DENIED);
  } finally {
    client.close();
  }
});
