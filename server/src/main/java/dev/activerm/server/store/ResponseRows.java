package dev.activerm.server.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * The response_batches and retired_responses tables (schema 4): a project's response and
 * prompt ids by pool row, one row per run of up to {@link #MAX_BATCH_ROWS} rows of one upload
 * with the ids packed into BLOBs ({@link IdBlob}), and the rows RetireResponses retired.
 * Committing an upload's batch rows is the commit point of its embeddings in the pool file.
 * Methods run inside the caller's transaction ({@link SqliteStore}).
 *
 * <p>Why not a row per response (schema 1-3): at 20 000 ids per call the per-row insert with
 * its unique index took 0.3-0.5 s of a 1.4 s AddResponses call, and start-up spent 4.4 s
 * reading 10^6 ids back row by row. Uniqueness of ids is checked in memory before a write
 * (the project's one upload at a time holds its index), as it was before the insert.
 */
final class ResponseRows {
  /** Rows per BLOB: bounds one database row (~1.5 MB of 20-character ids) and what a read decodes at once. */
  static final int MAX_BATCH_ROWS = 1 << 16;

  private final Connection connection;

  ResponseRows(Connection connection) {
    this.connection = connection;
  }

  static void createTables(Statement s) throws SQLException {
    // A rowid table: WITHOUT ROWID suits small rows, these hold BLOBs of hundreds of KB.
    s.execute(
        "CREATE TABLE IF NOT EXISTS response_batches ("
            + " project_key INTEGER NOT NULL,"
            + " first_row INTEGER NOT NULL,"
            + " row_count INTEGER NOT NULL,"
            // Distinct prompt ids of the project once this row was committed; start-up reads
            // it from the project's last batch only, so GetProject needs no ids.
            + " prompts_after INTEGER NOT NULL,"
            + " response_ids BLOB NOT NULL,"
            + " prompt_ids BLOB NOT NULL,"
            + " UNIQUE (project_key, first_row))");
    s.execute(
        "CREATE TABLE IF NOT EXISTS retired_responses ("
            + " project_key INTEGER NOT NULL,"
            + " row_index INTEGER NOT NULL,"
            + " retired_time_ms INTEGER NOT NULL,"
            + " PRIMARY KEY (project_key, row_index)) WITHOUT ROWID");
  }

  /** Stores rows firstRow.. of a project; promptsAfter is its distinct prompt count with them. */
  void append(long key, int firstRow, List<String> ids, List<String> promptIds, int promptsAfter)
      throws SQLException {
    if (ids.size() != promptIds.size()) {
      throw new IllegalArgumentException(ids.size() + " response ids but " + promptIds.size() + " prompt ids");
    }
    try (PreparedStatement ps = connection.prepareStatement(
        "INSERT INTO response_batches (project_key, first_row, row_count, prompts_after, response_ids, prompt_ids)"
            + " VALUES (?, ?, ?, ?, ?, ?)")) {
      for (int from = 0; from < ids.size(); from += MAX_BATCH_ROWS) {
        int to = Math.min(ids.size(), from + MAX_BATCH_ROWS);
        ps.setLong(1, key);
        ps.setInt(2, firstRow + from);
        ps.setInt(3, to - from);
        ps.setInt(4, promptsAfter);
        ps.setBytes(5, IdBlob.encode(ids, from, to));
        ps.setBytes(6, IdBlob.encode(promptIds, from, to));
        ps.executeUpdate();
      }
    }
  }

  ResponseSummary summary(long key) throws SQLException {
    try (PreparedStatement ps = connection.prepareStatement(
        "SELECT COALESCE(SUM(row_count), 0),"
            + " (SELECT prompts_after FROM response_batches WHERE project_key = ?1 ORDER BY first_row DESC LIMIT 1),"
            + " (SELECT COUNT(*) FROM retired_responses WHERE project_key = ?1)"
            + " FROM response_batches WHERE project_key = ?1")) {
      ps.setLong(1, key);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        long rows = rs.getLong(1);
        if (rows > Integer.MAX_VALUE) {
          throw damaged(key, "its batches add up to " + rows + " rows, more than a project can hold");
        }
        return new ResponseSummary((int) rows, rs.getInt(2), rs.getInt(3));
      }
    }
  }

  /**
   * Calls sink(responseId, promptId) for rows 0..rows-1 of a project, in row order; batches at
   * or past rows (committed while the caller was not yet told) are left out. DATA_LOSS-marked
   * StoreException, naming the database, if the stored batches do not hold exactly those rows.
   */
  void load(long key, int rows, SqliteStore.ResponseSink sink) throws SQLException {
    int loaded = 0;
    try (PreparedStatement ps = connection.prepareStatement(
        "SELECT first_row, row_count, response_ids, prompt_ids FROM response_batches"
            + " WHERE project_key = ? AND first_row < ? ORDER BY first_row")) {
      ps.setLong(1, key);
      ps.setInt(2, rows);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          int first = rs.getInt(1);
          int count = rs.getInt(2);
          if (first != loaded || count <= 0 || (long) first + count > rows) {
            throw damaged(key, "the batch stored at row " + first + " (" + count + " rows) does not follow row "
                + (loaded - 1) + " within its " + rows + " committed rows");
          }
          String[] ids = decode(key, first, count, rs.getBytes(3), "response");
          String[] prompts = decode(key, first, count, rs.getBytes(4), "prompt");
          for (int i = 0; i < count; i++) {
            sink.accept(ids[i], prompts[i]);
          }
          loaded += count;
        }
      }
    }
    if (loaded != rows) {
      throw damaged(key, "its batches hold " + loaded + " rows but " + rows + " are committed");
    }
  }

  private static String[] decode(long key, int first, int count, byte[] blob, String what) {
    String[] out = new String[count];
    int[] i = {0};
    try {
      IdBlob.decode(blob, count, id -> out[i[0]++] = id);
    } catch (IllegalArgumentException e) {
      throw damaged(key, "the " + what + " ids of rows " + first + ".." + (first + count - 1) + " are unreadable ("
          + e.getMessage() + ")");
    }
    return out;
  }

  /** Why the stored ids cannot be served, for the operator and the caller (DATA_LOSS). */
  static StoreException damaged(long key, String what) {
    return StoreException.damaged("activerm.db under --data-dir: the response ids of project key " + key
        + " are damaged: " + what + ". Nothing wrong was served; restore the data dir from a backup"
        + " (docs/operations.md, 'Backup and restore')");
  }

  /** Marks rows retired; rows already retired keep their time. */
  void retire(long key, int[] rows, long retiredTimeMillis) throws SQLException {
    try (PreparedStatement ps = connection.prepareStatement(
        "INSERT OR IGNORE INTO retired_responses (project_key, row_index, retired_time_ms) VALUES (?, ?, ?)")) {
      for (int row : rows) {
        ps.setLong(1, key);
        ps.setInt(2, row);
        ps.setLong(3, retiredTimeMillis);
        ps.addBatch();
      }
      ps.executeBatch();
    }
  }

  int[] retiredRows(long key) throws SQLException {
    List<Integer> rows = new ArrayList<>();
    try (PreparedStatement ps = connection.prepareStatement(
        "SELECT row_index FROM retired_responses WHERE project_key = ? ORDER BY row_index")) {
      ps.setLong(1, key);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          rows.add(rs.getInt(1));
        }
      }
    }
    return rows.stream().mapToInt(Integer::intValue).toArray();
  }
}
