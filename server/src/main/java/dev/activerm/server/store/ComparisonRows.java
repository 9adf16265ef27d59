package dev.activerm.server.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.function.Consumer;

/** The comparisons table: labels by seq, deleted ones kept as tombstones. Runs inside the caller's transaction. */
final class ComparisonRows {
  private final Connection connection;

  ComparisonRows(Connection connection) {
    this.connection = connection;
  }

  /** The schema 1 layout (ids and tombstones come with the schema 2 migration). */
  static void createTable(Statement s) throws SQLException {
    s.execute(
        "CREATE TABLE IF NOT EXISTS comparisons ("
            + " project_key INTEGER NOT NULL,"
            + " seq INTEGER NOT NULL,"
            + " a_row INTEGER NOT NULL,"
            + " b_row INTEGER NOT NULL,"
            + " outcome INTEGER NOT NULL,"
            + " weight REAL NOT NULL,"
            + " annotator_id TEXT NOT NULL,"
            + " create_time_ms INTEGER NOT NULL,"
            + " PRIMARY KEY (project_key, seq)) WITHOUT ROWID");
  }

  void append(long key, List<ComparisonRecord> rows) throws SQLException {
    try (PreparedStatement ps = connection.prepareStatement(
        "INSERT INTO comparisons (project_key, seq, a_row, b_row, outcome, weight, annotator_id, create_time_ms,"
            + " comparison_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
      for (int i = 0; i < rows.size(); i++) {
        ComparisonRecord r = rows.get(i);
        ps.setLong(1, key);
        ps.setLong(2, r.seq());
        ps.setInt(3, r.aRow());
        ps.setInt(4, r.bRow());
        ps.setInt(5, r.outcome());
        ps.setDouble(6, r.weight());
        ps.setString(7, r.annotatorId());
        ps.setLong(8, r.createTimeMillis());
        ps.setString(9, r.comparisonId());
        ps.addBatch();
        if ((i & 4095) == 4095) {
          ps.executeBatch();
        }
      }
      ps.executeBatch();
    }
  }

  void load(long key, Consumer<ComparisonRecord> sink) throws SQLException {
    try (PreparedStatement ps = connection.prepareStatement(
        "SELECT a_row, b_row, outcome, weight, annotator_id, create_time_ms, seq, comparison_id,"
            + " deleted_time_ms FROM comparisons WHERE project_key = ? ORDER BY seq")) {
      ps.setLong(1, key);
      ps.setFetchSize(8192);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          sink.accept(new ComparisonRecord(rs.getLong(7), rs.getString(8),
              rs.getInt(1), rs.getInt(2), rs.getInt(3), rs.getDouble(4), rs.getString(5), rs.getLong(6),
              rs.getLong(9)));
        }
      }
    }
  }

  void delete(long key, long[] seqs, long deletedTimeMillis) throws SQLException {
    try (PreparedStatement ps = connection.prepareStatement(
        "UPDATE comparisons SET deleted_time_ms = ? WHERE project_key = ? AND seq = ? AND deleted_time_ms = 0")) {
      int changed = 0;
      for (int i = 0; i < seqs.length; i++) {
        ps.setLong(1, deletedTimeMillis);
        ps.setLong(2, key);
        ps.setLong(3, seqs[i]);
        ps.addBatch();
      }
      for (int n : ps.executeBatch()) {
        changed += n;
      }
      if (changed != seqs.length) {
        throw new StoreException("project key " + key + ": " + (seqs.length - changed) + " of " + seqs.length
            + " comparisons to delete are not live in the database; nothing was deleted");
      }
    }
  }
}
