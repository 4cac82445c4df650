// Shared expressions so that no SQL is written twice (run date, lake URIs, incremental windows).
const vars = dataform.projectConfig.vars;

// The day being processed: the `run_date` var, or today when it is empty. A literal when given, so
// that filters on it are constants (partition pruning).
const RUN_DATE = vars.run_date ? `DATE '${vars.run_date}'` : "CURRENT_DATE()";

// Daily checks on staging (keys, reconciliation) cover the partitions of the last
// `check_window_days` days, so their cost does not grow with history; a weekly run passes a large
// window to re-check everything.
const CHECK_FROM = `DATE_SUB(${RUN_DATE}, INTERVAL ${vars.check_window_days} DAY)`;

// gs:// URI of a lake path (external tables).
function lakeUri(path) {
  return `gs://${vars.lake_bucket}/${path}`;
}

// `WITH CONNECTION` clause of the lake's external tables: in the cloud they read the lake through
// the BigLake connection terraform creates (its service account may read bronze/ and the app-events
// lake; the Dataform identity may not). Empty locally, where DuckDB reads the files directly.
function lakeConnection() {
  return vars.lake_connection ? `WITH CONNECTION \`${vars.lake_connection}\`` : "";
}

// Incremental runs reprocess the last `incremental_lookback_days` partitions already loaded, so a
// re-exported day (same file name, new content) is picked up. The bound is computed once, in a
// pre-operation (BigQuery scripting DECLARE), so that partition pruning sees a constant.
function incrementalFrom(selfTable, column) {
  return `DECLARE incremental_from DATE DEFAULT (
  SELECT COALESCE(DATE_SUB(MAX(${column}), INTERVAL ${vars.incremental_lookback_days} DAY), DATE '1970-01-01')
  FROM ${selfTable}
)`;
}

// The partitions an incremental run reprocesses are replaced, not just merged: a re-export or a late
// event can make a key disappear (an order line removed, sessions renumbered), which a MERGE on
// uniqueKey alone would leave behind.
function replaceReprocessed(selfTable, column) {
  return `DELETE FROM ${selfTable} WHERE ${column} >= incremental_from`;
}

module.exports = { RUN_DATE, CHECK_FROM, lakeUri, lakeConnection, incrementalFrom, replaceReprocessed, vars };
