package dev.activerm.server.store;

import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The database's tables and the migrations between schema versions (PRAGMA user_version). A
 * new database is created in the oldest layout and migrated like any other, so every
 * migration runs on every fresh start; on a current database nothing here writes, so a server
 * can start (and serve reads) on a full disk.
 */
final class Schema {
  private static final Logger log = LoggerFactory.getLogger(Schema.class);

  /**
   * 2: the labeling lifecycle (comparison ids and tombstones, retired responses, released pairs,
   * TTLs); 3: the information a selection adds; 4: response ids in one BLOB per upload batch.
   */
  static final int VERSION = 4;

  private Schema() {}

  /** Brings the database in the open transaction up to {@link #VERSION}. */
  static void upgrade(Statement s, Path dataDir) throws SQLException {
    int version;
    try (ResultSet rs = s.executeQuery("PRAGMA user_version")) {
      version = rs.getInt(1);
    }
    if (version > VERSION) {
      throw new StoreException(
          "the data dir " + dataDir + " was written by a newer activerm (schema " + version
              + ", this server knows " + VERSION + "); upgrade the server");
    }
    createTables(s, version);
    if (version < 2) {
      migrateToLifecycle(s);
    }
    if (version < 3) {
      migrateToSelectionGain(s);
    }
    if (version < 4) {
      migrateToResponseBatches(s);
    }
    if (version != VERSION) {
      s.execute("PRAGMA user_version=" + VERSION);
    }
  }

  /** The schema 1 layout, IF NOT EXISTS (the row-per-response table only below schema 4, which drops it). */
  private static void createTables(Statement s, int version) throws SQLException {
    ProjectRows.createTables(s);
    ModelRows.createTable(s);
    if (version < 4) {
      s.execute(
          "CREATE TABLE IF NOT EXISTS responses ("
              + " project_key INTEGER NOT NULL,"
              + " row_index INTEGER NOT NULL,"
              + " response_id TEXT NOT NULL,"
              + " prompt_id TEXT NOT NULL,"
              + " PRIMARY KEY (project_key, row_index)) WITHOUT ROWID");
      s.execute(
          "CREATE UNIQUE INDEX IF NOT EXISTS responses_by_id ON responses (project_key, response_id)");
    }
    ComparisonRows.createTable(s);
    SelectionRows.createTables(s);
  }

  /**
   * Schema 1 -> 2: new columns only, so every existing row keeps its meaning (no TTL, nothing
   * retired, released or deleted); existing comparisons get the ids the server would have
   * assigned them ("c-" + seq).
   */
  private static void migrateToLifecycle(Statement s) throws SQLException {
    s.execute("ALTER TABLE projects ADD COLUMN pending_ttl_ms INTEGER NOT NULL DEFAULT 0");
    s.execute("ALTER TABLE responses ADD COLUMN retired_time_ms INTEGER NOT NULL DEFAULT 0");
    s.execute("ALTER TABLE comparisons ADD COLUMN comparison_id TEXT");
    s.execute("ALTER TABLE comparisons ADD COLUMN deleted_time_ms INTEGER NOT NULL DEFAULT 0");
    s.execute("UPDATE comparisons SET comparison_id = 'c-' || seq WHERE comparison_id IS NULL");
    s.execute("CREATE UNIQUE INDEX comparisons_by_id ON comparisons (project_key, comparison_id)");
    s.execute("ALTER TABLE selections ADD COLUMN pending_ttl_ms INTEGER NOT NULL DEFAULT 0");
    s.execute("ALTER TABLE selection_pairs ADD COLUMN released_time_ms INTEGER NOT NULL DEFAULT 0");
  }

  /**
   * Schema 2 -> 3: nullable columns only, so every existing selection reads back as "gain not
   * measured" (NULL), which is what it is.
   */
  private static void migrateToSelectionGain(Statement s) throws SQLException {
    s.execute("ALTER TABLE selections ADD COLUMN log_det_gain REAL");
    s.execute("ALTER TABLE selections ADD COLUMN gain_reference_id TEXT");
    s.execute("ALTER TABLE selections ADD COLUMN gain_reference_per_label REAL");
  }

  /**
   * Schema 3 -> 4: every project's rows of the responses table, in row order, become batches
   * of {@link ResponseRows#MAX_BATCH_ROWS} ({@link ResponseRows}), its retired rows keep their
   * times in retired_responses, and the old table goes; all in the open transaction, so a
   * crash or a full disk leaves schema 3 as it was. Rows that are not contiguous (which the
   * old server refused to load too) stop the migration, changing nothing.
   */
  private static void migrateToResponseBatches(Statement s) throws SQLException {
    long start = System.nanoTime();
    ResponseRows.createTables(s);
    ResponseRows rows = new ResponseRows(s.getConnection());
    long total = 0;
    try (Statement read = s.getConnection().createStatement();
        ResultSet rs = read.executeQuery(
            "SELECT project_key, row_index, response_id, prompt_id FROM responses ORDER BY project_key, row_index")) {
      long key = -1;
      int next = 0;
      Set<String> prompts = new HashSet<>();
      List<String> ids = new ArrayList<>();
      List<String> promptIds = new ArrayList<>();
      while (rs.next()) {
        long k = rs.getLong(1);
        if (k != key) {
          rows.append(key, next - ids.size(), ids, promptIds, prompts.size());
          key = k;
          next = 0;
          prompts.clear();
          ids.clear();
          promptIds.clear();
        }
        int row = rs.getInt(2);
        if (row != next) {
          throw new StoreException("migrating activerm.db to schema 4: the response rows of project key " + key
              + " are not contiguous at row " + next + " (found " + row + "); the database was changed outside"
              + " activerm. Nothing was changed; restore the data dir from a backup (docs/operations.md)");
        }
        ids.add(rs.getString(3));
        promptIds.add(rs.getString(4));
        prompts.add(promptIds.get(promptIds.size() - 1));
        next++;
        total++;
        if (ids.size() == ResponseRows.MAX_BATCH_ROWS) {
          rows.append(key, next - ids.size(), ids, promptIds, prompts.size());
          ids.clear();
          promptIds.clear();
        }
      }
      rows.append(key, next - ids.size(), ids, promptIds, prompts.size());
    }
    s.execute("INSERT INTO retired_responses (project_key, row_index, retired_time_ms)"
        + " SELECT project_key, row_index, retired_time_ms FROM responses WHERE retired_time_ms != 0");
    s.execute("DROP INDEX IF EXISTS responses_by_id");
    s.execute("DROP TABLE responses");
    if (total > 0) {
      log.info("migrated activerm.db to schema 4: {} response ids into batches in {} ms", total,
          (System.nanoTime() - start) / 1_000_000);
    }
  }
}
