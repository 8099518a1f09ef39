// The benchmarks' one table: each route's median and p95 beside /api/health's median
// measured in the same run, and their ratio.

/** Print rows of `{ name, median, p95, health }` (milliseconds). */
export function printLatencies(rows) {
  const width = Math.max(36, ...rows.map((r) => r.name.length + 2));
  console.log("route".padEnd(width), "median ms", "  p95 ms", " health ms", " ratio");
  for (const r of rows) {
    console.log(
      r.name.padEnd(width),
      r.median.toFixed(2).padStart(9),
      r.p95.toFixed(2).padStart(8),
      r.health.toFixed(2).padStart(10),
      `${(r.median / r.health).toFixed(2)}×`.padStart(6),
    );
  }
}
