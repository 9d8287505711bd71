// node-postgres (`pg` from npm) against a running `sigfuse serve` (scripts/test starts it).
//
//   NODE_PATH=…/node_modules node tests/wire/clients.cjs PORT
//
// Each check prints one line; a failure throws and exits non-zero.
const assert = require("assert");
const { Client } = require("pg");

async function main() {
  const port = Number(process.argv[2]);
  const client = new Client({ host: "127.0.0.1", port, user: "sigfuse", database: "sigfuse" });
  await client.connect();
  const version = (await client.query("SELECT version() AS v")).rows[0].v;
  assert.ok(version.startsWith("PostgreSQL 16."), version);
  // Parameters go through the extended protocol.
  const n = (await client.query("SELECT count(*) AS n FROM logs WHERE service <> $1", ["nope"]))
    .rows[0].n;
  assert.ok(Number(n) > 0, n);
  const r = (await client.query(
    "SELECT CAST(2 AS INT) AS i, CAST(2.5 AS DOUBLE PRECISION) AS f, true AS b, 'x' AS t, " +
      "min(ts) AS ts, make_array(CAST(1 AS REAL), CAST(2 AS REAL)) AS v FROM logs",
  )).rows[0];
  assert.strictEqual(r.i, 2);
  assert.strictEqual(r.f, 2.5);
  assert.strictEqual(r.b, true);
  assert.strictEqual(r.t, "x");
  assert.ok(r.ts instanceof Date, String(r.ts));
  assert.deepStrictEqual(r.v, [1, 2]);
  console.log("ok  node-postgres: version, parameters, int/float/bool/text/timestamptz/float4[]");
  try {
    await client.query("SELECT * FROM no_such_table");
    assert.fail("no error");
  } catch (e) {
    assert.strictEqual(e.code, "42P01", String(e));
  }
  // DataFusion types integer literals as bigint, which node-postgres returns as a string.
  assert.strictEqual((await client.query("SELECT 7 AS x")).rows[0].x, "7");
  console.log("ok  node-postgres: SQLSTATE 42P01, connection usable after the error");
  await client.end();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
