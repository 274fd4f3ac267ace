// The report's window join done by DuckDB, on the data bench_report exports as CSV:
// for every failed test, the node CPU busy fraction over [start - 1 s, end + 1 s] (peak and
// mean of the per-interval fractions, as jostle's node.cpu.busy) and the neighbour pod that
// used the most CPU in that window (the test's own pod excluded). Rates come from the raw
// cumulative counters (LAG over each series), inside the timed query, as jostle derives them.
//
//   node window_join.mjs DIR [--check REPORT.json]
//
// DIR holds node_samples.csv, cgroup_samples.csv and failures.csv. Prints `key value` lines:
// load_s (CSV into DuckDB tables), query_s (the join), their CPU seconds (all threads), rows, and with --check how many
// failures agree with jostle's JSON report (node.cpu.busy peak/mean; the top culprit where
// jostle names a CPU culprit).
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const dir = process.argv[2];
const checkIndex = process.argv.indexOf('--check');
const reportPath = checkIndex > 0 ? process.argv[checkIndex + 1] : null;
if (!dir) {
  console.error('usage: node window_join.mjs DIR [--check REPORT.json]');
  process.exit(2);
}

const seconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;
// CPU seconds of the whole process (every DuckDB thread) since `c0`.
const cpuSeconds = (c0) => {
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / 1e6;
};

const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();

let t = process.hrtime.bigint();
let c = process.cpuUsage();
await conn.run(`
  CREATE TABLE node_samples AS SELECT * FROM read_csv('${dir}/node_samples.csv', header = true,
    columns = {'node': 'VARCHAR', 'wall_ns': 'BIGINT', 'cpu_busy_us': 'UBIGINT',
               'cpu_total_us': 'UBIGINT'});
  CREATE TABLE cgroup_samples AS SELECT * FROM read_csv('${dir}/cgroup_samples.csv',
    header = true,
    columns = {'node': 'VARCHAR', 'wall_ns': 'BIGINT', 'series': 'VARCHAR',
               'namespace': 'VARCHAR', 'pod': 'VARCHAR', 'cpu_usage_us': 'UBIGINT'});
  CREATE TABLE failures AS SELECT * FROM read_csv('${dir}/failures.csv', header = true,
    columns = {'test_id': 'VARCHAR', 'job': 'VARCHAR', 'node': 'VARCHAR',
               'namespace': 'VARCHAR', 'pod': 'VARCHAR', 'start_ns': 'BIGINT',
               'end_ns': 'BIGINT'});
`);
const loadS = seconds(t);
const loadCpuS = cpuSeconds(c);

const query = `
  WITH nr AS (
    SELECT node, LAG(wall_ns) OVER w AS from_ns, wall_ns AS to_ns,
           (cpu_busy_us::DOUBLE - LAG(cpu_busy_us) OVER w) /
             NULLIF(cpu_total_us::DOUBLE - LAG(cpu_total_us) OVER w, 0) AS busy
    FROM node_samples WINDOW w AS (PARTITION BY node ORDER BY wall_ns)),
  cr AS (
    SELECT node, namespace, pod, LAG(wall_ns) OVER w AS from_ns, wall_ns AS to_ns,
           cpu_usage_us::DOUBLE - LAG(cpu_usage_us) OVER w AS cpu_us
    FROM cgroup_samples WINDOW w AS (PARTITION BY node, series ORDER BY wall_ns)),
  fw AS (
    SELECT test_id, job, node, namespace, pod,
           start_ns - 1000000000 AS ws, end_ns + 1000000000 AS we
    FROM failures),
  nb AS (
    SELECT fw.test_id, fw.job, max(nr.busy) AS busy_peak, avg(nr.busy) AS busy_mean,
           count(*) AS points
    FROM fw JOIN nr ON nr.node = fw.node AND nr.to_ns > fw.ws AND nr.from_ns < fw.we
    WHERE nr.busy IS NOT NULL
    GROUP BY fw.test_id, fw.job),
  nu AS (
    SELECT fw.test_id, fw.job, cr.namespace || '/' || cr.pod AS neighbour,
           sum(cr.cpu_us) AS cpu_us
    FROM fw JOIN cr ON cr.node = fw.node AND cr.to_ns > fw.ws AND cr.from_ns < fw.we
    WHERE cr.cpu_us IS NOT NULL AND NOT (cr.namespace = fw.namespace AND cr.pod = fw.pod)
    GROUP BY fw.test_id, fw.job, neighbour),
  top AS (
    SELECT test_id, job, arg_max(neighbour, cpu_us) AS top_neighbour,
           max(cpu_us) AS top_cpu_us
    FROM nu GROUP BY test_id, job)
  SELECT nb.test_id, nb.job, nb.busy_peak, nb.busy_mean, nb.points, top.top_neighbour,
         top.top_cpu_us
  FROM nb LEFT JOIN top USING (test_id, job)
  ORDER BY nb.test_id, nb.job`;

t = process.hrtime.bigint();
c = process.cpuUsage();
const reader = await conn.runAndReadAll(query);
const rows = reader.getRowObjectsJson();
const queryS = seconds(t);
const queryCpuS = cpuSeconds(c);

console.log(`load_s ${loadS.toFixed(3)}`);
console.log(`query_s ${queryS.toFixed(3)}`);
console.log(`load_cpu_s ${loadCpuS.toFixed(3)}`);
console.log(`query_cpu_s ${queryCpuS.toFixed(3)}`);
console.log(`rows ${rows.length}`);

if (reportPath) {
  const report = JSON.parse(readFileSync(reportPath, 'utf8'));
  const byKey = new Map(rows.map((r) => [`${r.job}\u0000${r.test_id}`, r]));
  let compared = 0, busyAgree = 0, culpritCompared = 0, culpritAgree = 0, missing = 0;
  for (const f of report.failures) {
    const r = byKey.get(`${f.job}\u0000${f.test}`);
    const busy = f.signals['node.cpu.busy'];
    if (!busy) continue;
    if (!r) {
      ++missing;
      continue;
    }
    ++compared;
    if (Math.abs(busy.peak - r.busy_peak) < 1e-9 && Math.abs(busy.mean - r.busy_mean) < 1e-9 &&
        busy.points === Number(r.points)) {
      ++busyAgree;
    }
    const cpuCulprit = f.resource === 'cpu' ? f.culprits.find((c) => c.kind === 'pod') : null;
    if (cpuCulprit) {
      ++culpritCompared;
      if (cpuCulprit.name === r.top_neighbour) ++culpritAgree;
    }
  }
  console.log(`check_compared ${compared}`);
  console.log(`check_busy_agree ${busyAgree}`);
  console.log(`check_culprit_compared ${culpritCompared}`);
  console.log(`check_culprit_agree ${culpritAgree}`);
  console.log(`check_missing ${missing}`);
}
conn.closeSync();
instance.closeSync();
