// duckdb.cjs PREFIX QUERY FILE [THREADS] -- DuckDB as a peer in the
// benchmark: runs one of the queries below on FILE with THREADS threads
// (default 2) and prints the rows as tome's scripts print theirs.  The
// engine comes from the npm package @duckdb/node-api, installed by
// scripts/bench.sh under PREFIX (bench only; skipped when absent).
"use strict";
const path = require("path");
const [prefix, query, file, threads = "2"] = process.argv.slice(2);
const { DuckDBInstance } = require(path.resolve(prefix, "node_modules",
  "@duckdb", "node-api"));

const q = (s) => "'" + s.replace(/'/g, "''") + "'";
// the combined log format, split on blanks with quoted fields kept whole
const LOG = `read_csv(${q(file)}, delim=' ', quote='"', escape='"',
  header=false, columns={'ip': 'VARCHAR', 'ident': 'VARCHAR',
  'user': 'VARCHAR', 'ts': 'VARCHAR', 'tz': 'VARCHAR', 'req': 'VARCHAR',
  'status': 'INTEGER', 'bytes': 'BIGINT', 'ref': 'VARCHAR',
  'ua': 'VARCHAR'})`;
const QUERIES = {
  sum_bytes: [`SELECT sum(bytes) FROM ${LOG}`, (r) => String(r[0])],
  top_ips: [`SELECT count(*) AS n, ip FROM ${LOG} GROUP BY ip
             ORDER BY n DESC, ip LIMIT 10`, (r) => r.join("\t")],
  status_hist: [`SELECT status, count(*) FROM ${LOG} GROUP BY status
                 ORDER BY status`, (r) => r.join("\t")],
  csv_sum: [`SELECT sum(amount)::DOUBLE FROM read_csv(${q(file)},
             header=true)`, (r) => Number(r[0]).toFixed(2)],
};

async function main() {
  const [sql, fmt] = QUERIES[query] || [];
  if (!sql) throw new Error("unknown query " + query);
  const db = await DuckDBInstance.create(":memory:", { threads });
  const con = await db.connect();
  const res = await con.runAndReadAll(sql);
  const out = res.getRows().map((r) => fmt(r.map(String))).join("\n");
  process.stdout.write(out + "\n");
}
main().catch((e) => { console.error("duckdb.cjs: " + e.message); process.exit(1); });
