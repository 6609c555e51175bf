#!/usr/bin/env node
// Milvus's "Create Users & Roles" walk-through through one line of the Milvus Node.js SDK.
//
//   node walkthrough.js <sdk> <address> <root-token> [prefix] [timeout-ms]
//
// <sdk> is the npm alias of the SDK line in package.json (milvus26, milvus30); <address> is host:port of a
// Milvus gRPC endpoint; <root-token> is "root:<password>"; <timeout-ms> bounds every call (default 5000).
//
// Every user and role this script creates is named <prefix><name> (user_1, role_a), so it can run on a Milvus
// server that others share, and it drops them at the end. Names in the report are given without the prefix, and
// lists keep only the built-in names and this run's names, so a report from a shared server compares with one
// from a fresh server (prefix ""). Use a prefix that sorts after "root" (e.g. "znode_"): see below.
//
// Output: one JSON object per line on stdout, one per step, in order:
//   {"step": name, "status": {code, error_code, reason} | null, "result": ..., "error": {code, details, message}}
// "status" is the Milvus status the SDK resolved with (the Node SDK resolves with a status for most failures
// rather than rejecting), null when the answer carried none (the SDK turns a gRPC UNIMPLEMENTED into an empty
// answer); "error" is set when the call threw or rejected (gRPC code, details, message). The script never exits
// non-zero for a server's answer; when it cannot go on (no server, no answer) it prints {"step": "abort", reason}.
'use strict';

const [, , sdkAlias, address, rootToken, prefix = '', timeoutArg = '5000'] = process.argv;
if (!sdkAlias || !address || !rootToken) {
  process.stderr.write('usage: node walkthrough.js <sdk> <address> <root-token> [prefix] [timeout-ms]\n');
  process.exit(2);
}
const timeout = Number(timeoutArg);
// Milvus lists users and roles in byte order of their names. A prefix that sorts after every built-in name
// ("z...") keeps this run's names where the bare names would be, so the lists' order is the bare names' order.
if (prefix && !(prefix > 'root')) {
  process.stderr.write(`prefix ${JSON.stringify(prefix)} sorts before a built-in name: lists will be out of order\n`);
}

function emit(record) {
  process.stdout.write(JSON.stringify(record) + '\n');
}

// The SDK logs through winston to stdout; the report owns stdout, so the SDK's lines go to stderr.
let sdk;
try {
  sdk = require(sdkAlias);
} catch (e) {
  emit({ step: 'abort', reason: `cannot load ${sdkAlias}: ${e.message}` });
  process.exit(0);
}
if (sdk.logger && Array.isArray(sdk.logger.transports)) {
  for (const transport of sdk.logger.transports) {
    transport.stderrLevels = new Proxy({}, { get: () => true, has: () => true });
  }
}
const { MilvusClient } = sdk;

// A rejected promise nobody awaits (the SDK starts Connect from the constructor) must not kill the run.
process.on('unhandledRejection', reason => {
  process.stderr.write(`unhandled rejection: ${reason && reason.stack ? reason.stack : reason}\n`);
});

// A run never outlives its budget, whatever the server does.
const budget = timeout * 15;
const watchdog = setTimeout(() => {
  emit({ step: 'abort', reason: `walk-through did not finish within ${budget} ms` });
  process.exit(0);
}, budget);

const USER = 'user_1';
const ROLE = 'role_a';
const BUILT_IN = new Set(['root', 'admin', 'public']);
const OLD_PASSWORD = 'P@ssw0rd';
const NEW_PASSWORD = 'NewP@ssw0rd';
const user = prefix + USER;
const role = prefix + ROLE;

// ---------------------------------------------------------------------------------------------------------------
// Shaping answers into the report

function unprefix(text) {
  if (!prefix || typeof text !== 'string') return text;
  return text.split(user).join(USER).split(role).join(ROLE);
}

function unprefixDeep(value) {
  return value === undefined ? undefined : JSON.parse(unprefix(JSON.stringify(value)));
}

// Names this run may report: the built-in ones and its own (all of them on a fresh server, prefix "").
function mine(name) {
  return BUILT_IN.has(name) || !prefix || (typeof name === 'string' && name.startsWith(prefix));
}

function statusOf(answer) {
  if (!answer || typeof answer !== 'object') return null;
  const status = answer.status && typeof answer.status === 'object' ? answer.status : answer;
  if (!('error_code' in status) && !('code' in status) && !('reason' in status)) return null;
  return { code: status.code, error_code: status.error_code, reason: unprefix(status.reason) };
}

function errorOf(e) {
  if (!e || typeof e !== 'object') return { code: null, details: null, message: unprefix(String(e)) };
  return {
    code: e.code === undefined ? null : e.code,
    details: e.details === undefined ? null : unprefix(e.details),
    message: unprefix(e.message),
  };
}

const CONNECT_STATUS = { 0: 'CONNECTING', 1: 'CONNECTED', 2: 'UNIMPLEMENTED', 5: 'SHUTDOWN' };

// Once a call found no server or no answer (UNAVAILABLE, DEADLINE_EXCEEDED), the remaining steps would only wait
// for their own timeouts: the run stops there with an "abort" record.
const UNAVAILABLE = 14;
const DEADLINE_EXCEEDED = 4;
let stopped = false;

function stopIfUnreachable(error, name) {
  if (error && (error.code === UNAVAILABLE || error.code === DEADLINE_EXCEEDED) && !stopped) {
    stopped = true;
    emit({ step: 'abort', reason: `${name}: no answer from ${address}: ${error.message}` });
  }
}

async function step(name, call, shape) {
  if (stopped) return null;
  const record = { step: name, status: null, result: null, error: null };
  try {
    const answer = await call();
    record.status = statusOf(answer);
    record.result = shape ? unprefixDeep(shape(answer)) : null;
  } catch (e) {
    record.error = errorOf(e);
  }
  emit(record);
  stopIfUnreachable(record.error, name);
  return record;
}

// A step reporting how a client's Connect went.
function connectStep(name, side) {
  if (stopped) return;
  emit({ step: name, status: null, result: side.connect, error: null });
  stopIfUnreachable(side.connect.error, name);
}

// A client and the outcome of the Connect its constructor starts.
async function open(token) {
  const client = new MilvusClient({ address, token, timeout });
  const connected = client.connectPromise;
  connected.catch(() => {});
  let error = null;
  try {
    await connected;
  } catch (e) {
    error = errorOf(e);
  }
  return { client, connect: { connect_status: CONNECT_STATUS[client.connectStatus] || client.connectStatus, error } };
}

function usernames(answer) {
  return Array.isArray(answer && answer.usernames) ? answer.usernames.filter(mine) : null;
}

function roleNames(answer) {
  return Array.isArray(answer && answer.results) ? answer.results.map(r => r.role && r.role.name).filter(mine) : null;
}

function rolesWithUsers(answer) {
  if (!Array.isArray(answer && answer.results)) return null;
  return answer.results
    .filter(r => mine(r.role && r.role.name))
    .map(r => Object.assign({}, r, { users: (r.users || []).filter(u => mine(u.name)) }));
}

function results(answer) {
  return answer && answer.results !== undefined ? answer.results : null;
}

// ---------------------------------------------------------------------------------------------------------------
// The walk-through

async function leftovers(root) {
  // A run that was killed half-way leaves its names on a shared server; clear them silently.
  try {
    const users = await root.listUsers();
    const roles = await root.listRoles();
    if ((users.usernames || []).includes(user) && (roles.results || []).some(r => r.role && r.role.name === role)) {
      await root.removeUserFromRole({ username: user, roleName: role });
    }
    if ((roles.results || []).some(r => r.role && r.role.name === role)) await root.dropRole({ roleName: role });
    if ((users.usernames || []).includes(user)) await root.deleteUser({ username: user });
  } catch (e) {
    process.stderr.write(`clearing leftovers: ${e.message}\n`);
  }
}

async function main() {
  const clients = [];
  const rootSide = await open(rootToken);
  clients.push(rootSide.client);
  connectStep('connect', rootSide);
  if (rootSide.connect.error) {
    if (!stopped) emit({ step: 'abort', reason: `cannot connect to ${address}: ${rootSide.connect.error.message}` });
    return clients;
  }
  const root = rootSide.client;
  await leftovers(root);
  try {
    await step('create_user', () => root.createUser({ username: user, password: OLD_PASSWORD }));
    await step('update_password', () =>
      root.updateUser({ username: user, newPassword: NEW_PASSWORD, oldPassword: OLD_PASSWORD }),
    );
    await step('list_users', () => root.listUsers(), usernames);
    await step('create_role', () => root.createRole({ roleName: role }));
    await step('list_roles', () => root.listRoles(), roleNames);
    await step('grant_role', () => root.grantRole({ username: user, roleName: role }));
    await step('list_roles_with_users', () => root.listRoles({ includeUserInfo: true }), rolesWithUsers);
    await step('describe_user', () => root.describeUser({ username: user }), results);
    await step('invalid_user_name', () => root.createUser({ username: '1bad', password: OLD_PASSWORD }));

    // The old password no longer opens a session: first what Connect says, then what a call says.
    if (stopped) return clients;
    const stale = await open(`${user}:${OLD_PASSWORD}`);
    clients.push(stale.client);
    connectStep('wrong_password_connect', stale);
    await step('wrong_password_call', () => stale.client.describeUser({ username: user }), results);

    // The new one does; user_1 may read itself but holds no privilege on users.
    if (stopped) return clients;
    const member = await open(`${user}:${NEW_PASSWORD}`);
    clients.push(member.client);
    connectStep('user_connect', member);
    await step('user_describe_self', () => member.client.describeUser({ username: user }), results);
    await step('missing_privilege', () => member.client.listUsers(), usernames);
  } finally {
    await step('revoke_role', () => root.revokeRole({ username: user, roleName: role }));
    await step('drop_role', () => root.dropRole({ roleName: role }));
    await step('drop_user', () => root.dropUser({ username: user }));
    await step('list_users_after_cleanup', () => root.listUsers(), usernames);
    await step('list_roles_after_cleanup', () => root.listRoles(), roleNames);
  }
  await reportTelemetry(root);
  return clients;
}

// SDK 3.0 starts a ClientTelemetryService.ClientHeartbeat loop once Connect succeeds; 2.6 has none.
async function reportTelemetry(root) {
  if (stopped) return;
  const telemetry = typeof root.getTelemetry === 'function' ? root.getTelemetry() : null;
  if (!telemetry) {
    emit({ step: 'telemetry', status: null, result: null, error: null });
    return;
  }
  // The loop starts once Connect answered with an identifier; its first heartbeat leaves at once, and the next
  // one is scheduled (timer set) when the first has its answer or its failure.
  const until = Date.now() + Math.min(timeout, 3000);
  while (telemetry.ready && !telemetry.timer && Date.now() < until) {
    await new Promise(resolve => setTimeout(resolve, 20));
  }
  const error = telemetry.lastHeartbeatError;
  emit({
    step: 'telemetry',
    status: null,
    result: {
      started: Boolean(telemetry.ready),
      answered: Boolean(telemetry.timer),
      supported: telemetry.isSupported(),
    },
    error: error ? errorOf(error) : null,
  });
}

main()
  .then(async clients => {
    await Promise.all(clients.map(c => c.closeConnection().catch(() => {})));
  })
  .catch(e => {
    emit({ step: 'abort', reason: `walk-through failed: ${e && e.stack ? e.stack : e}` });
  })
  .finally(() => {
    clearTimeout(watchdog);
    process.exit(0);
  });
