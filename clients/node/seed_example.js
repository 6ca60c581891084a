'use strict';
// The seed README's walk-through, from Node.js: the REST calls of its curl
// examples and its OlapService calls. Run against a live node:
//
//   MINIODB_REST=http://127.0.0.1:8081 MINIODB_GRPC=127.0.0.1:8080 node seed_example.js
const { newClient, call } = require('./olap');

async function rest(base, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, body: json, requestId: res.headers.get('x-request-id') };
}

// restWalkthrough runs the README's REST examples in order and returns
// every answer by name.
async function restWalkthrough(base) {
  const out = {};
  out.health = await rest(base, 'GET', '/v1/health');
  out.stats = await rest(base, 'GET', '/v1/stats');
  out.createUsers = await rest(base, 'POST', '/v1/tables', {
    table_name: 'users',
    config: { buffer_size: 1000, flush_interval_seconds: 30, retention_days: 365, backup_enabled: true },
  });
  out.createProducts = await rest(base, 'POST', '/v1/tables', {
    table_name: 'products',
    config: { buffer_size: 2000, flush_interval_seconds: 60, retention_days: 730, backup_enabled: true },
  });
  out.createOrders = await rest(base, 'POST', '/v1/tables', { table_name: 'orders', if_not_exists: true });
  out.list = await rest(base, 'GET', '/v1/tables');
  out.write = await rest(base, 'POST', '/v1/data', {
    table: 'users',
    id: 'user-123',
    timestamp: '2024-01-01T10:00:00Z',
    payload: { name: 'John Doe', age: 30, score: 95.5 },
  });
  out.writeOrder = await rest(base, 'POST', '/v1/data', [
    { table: 'orders', id: 'order-1', payload: { user_id: 'user-123', amount: 42.5 } },
  ]);
  out.count = await rest(base, 'POST', '/v1/query', { sql: 'SELECT COUNT(*) FROM users WHERE age > 25' });
  out.join = await rest(base, 'POST', '/v1/query', {
    sql: 'SELECT u.name, o.amount FROM users u JOIN orders o ON u.id = o.user_id WHERE u.age > 25',
  });
  out.describe = await rest(base, 'GET', '/v1/tables/users');
  out.backup = await rest(base, 'POST', '/v1/metadata/backup', {
    backup_type: 'full',
    description: 'Manual backup before system upgrade',
  });
  out.backups = await rest(base, 'GET', '/v1/metadata/backups');
  out.recover = await rest(base, 'POST', '/v1/metadata/recover', {
    backup_file: 'backup_20240115_103000.json',
    mode: 'complete',
    force_overwrite: false,
    backup_current: true,
  });
  out.metadataStatus = await rest(base, 'GET', '/v1/metadata/status');
  out.validate = await rest(base, 'POST', '/v1/metadata/validate', { backup_file: 'backup_20240115_103000.json' });
  out.pool = await rest(base, 'GET', '/v1/pool/status');
  out.dropProducts = await rest(base, 'DELETE', '/v1/tables/products?cascade=true');
  return out;
}

// grpcWalkthrough runs the README's Node.js OlapService example (create a
// table, write a row) and queries the row back.
async function grpcWalkthrough(address) {
  const client = newClient(address);
  try {
    const out = {};
    out.createTable = await call(client, 'createTable', {
      table_name: 'grpc_users',
      config: {
        buffer_size: 1000,
        flush_interval_seconds: 30,
        retention_days: 365,
        backup_enabled: true,
        properties: { description: '用户数据表', owner: 'user-service' },
      },
      if_not_exists: true,
    });
    out.write = await call(client, 'write', {
      table: 'grpc_users',
      id: 'user-123',
      timestamp: { seconds: Math.floor(Date.now() / 1000) },
      payload: { fields: { name: { stringValue: 'John' }, age: { numberValue: 30 } } },
    });
    out.query = await call(client, 'query', { sql: 'SELECT COUNT(*) AS n, max(name) AS name FROM grpc_users WHERE age > 25' });
    out.describe = await call(client, 'describeTable', { table_name: 'grpc_users' });
    out.health = await call(client, 'healthCheck', {});
    out.stats = await call(client, 'getStats', {});
    out.nodes = await call(client, 'getNodes', {});
    out.list = await call(client, 'listTables', {});
    return out;
  } finally {
    client.close();
  }
}

async function main() {
  const base = process.env.MINIODB_REST || 'http://127.0.0.1:8081';
  const address = process.env.MINIODB_GRPC || '127.0.0.1:8080';
  console.log(JSON.stringify(await restWalkthrough(base), null, 2));
  console.log(JSON.stringify(await grpcWalkthrough(address), null, 2));
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

module.exports = { rest, restWalkthrough, grpcWalkthrough };
