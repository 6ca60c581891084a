'use strict';
// The OlapService client, loaded from the proto file the server is built
// from (api/proto/olap/v1/olap.proto), as the seed README's Node.js example
// does with @grpc/proto-loader.
//
// keepCase keeps the proto's snake_case field names (table_name,
// if_not_exists, ...), which the README's calls use; without it
// proto-loader expects camelCase and silently drops snake_case fields.
// NOTE: google.protobuf.Value keeps protobufjs's own camelCase names even
// so: write payload values as {stringValue: ...}, {numberValue: ...}, not
// the README's {string_value: ...} (the server refuses a value it cannot
// see, naming the field).
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO = path.resolve(__dirname, '..', '..', 'api', 'proto', 'olap', 'v1', 'olap.proto');

function loadOlap() {
  const packageDefinition = protoLoader.loadSync(PROTO, {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [path.resolve(__dirname, '..', '..', 'api', 'proto')],
  });
  return grpc.loadPackageDefinition(packageDefinition).olap.v1;
}

// newClient connects to a node's gRPC port (Flight SQL and OlapService).
function newClient(address) {
  const olap = loadOlap();
  return new olap.OlapService(address, grpc.credentials.createInsecure());
}

// call turns one callback-style RPC into a promise.
function call(client, method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

module.exports = { PROTO, loadOlap, newClient, call, grpc };
