package dev.activerm.server.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/** The selections and selection_pairs tables (pairs by response row, released ones marked). Runs inside the caller's transaction. */
final class SelectionRows {
  private final Connection connection;

  SelectionRows(Connection connection) {
    this.connection = connection;
  }

  /** The schema 1 layout (TTLs, releases and gains come with the migrations). */
  static void createTables(Statement s) throws SQLException {
    s.execute(
        "CREATE TABLE IF NOT EXISTS selections ("
            + " project_key INTEGER NOT NULL,"
            + " seq INTEGER NOT NULL,"
            + " selection_id TEXT NOT NULL,"
            + " model_version INTEGER NOT NULL,"
            + " strategy TEXT NOT NULL,"
            + " parameters TEXT NOT NULL,"
            + " seed INTEGER NOT NULL,"
            + " batch_size INTEGER NOT NULL,"
            + " num_candidates INTEGER NOT NULL,"
            + " num_comparisons INTEGER NOT NULL,"
            + " create_time_ms INTEGER NOT NULL,"
            + " wall_time_ns INTEGER NOT NULL,"
            + " PRIMARY KEY (project_key, seq)) WITHOUT ROWID");
    s.execute(
        "CREATE TABLE IF NOT EXISTS selection_pairs ("
            + " project_key INTEGER NOT NULL,"
            + " seq INTEGER NOT NULL,"
            + " idx INTEGER NOT NULL,"
            + " a_row INTEGER NOT NULL,"
            + " b_row INTEGER NOT NULL,"
            + " score REAL NOT NULL,"
            + " PRIMARY KEY (project_key, seq, idx)) WITHOUT ROWID");
  }

  void insert(long key, SelectionRecord r) throws SQLException {
    try (PreparedStatement ps = connection.prepareStatement(
        "INSERT INTO selections (project_key, seq, selection_id, model_version, strategy, parameters, seed,"
            + " batch_size, num_candidates, num_comparisons, create_time_ms, wall_time_ns, pending_ttl_ms,"
            + " log_det_gain, gain_reference_id, gain_reference_per_label)"
            + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
      ps.setLong(1, key);
      ps.setInt(2, r.seq());
      ps.setString(3, r.selectionId());
      ps.setLong(4, r.modelVersion());
      ps.setString(5, r.strategy());
      ps.setString(6, r.parameters());
      ps.setLong(7, r.seed());
      ps.setInt(8, r.batchSize());
      ps.setLong(9, r.numCandidates());
      ps.setInt(10, r.numComparisons());
      ps.setLong(11, r.createTimeMillis());
      ps.setLong(12, r.wallTimeNanos());
      ps.setLong(13, r.pendingTtlMillis());
      SelectionGain g = r.gain();
      if (g == null) {
        ps.setNull(14, java.sql.Types.REAL);
        ps.setNull(15, java.sql.Types.VARCHAR);
        ps.setNull(16, java.sql.Types.REAL);
      } else {
        ps.setDouble(14, g.logDetGain());
        ps.setString(15, g.referenceSelectionId());
        ps.setDouble(16, g.referenceGainPerLabel());
      }
      ps.executeUpdate();
    }
    try (PreparedStatement ps = connection.prepareStatement(
        "INSERT INTO selection_pairs (project_key, seq, idx, a_row, b_row, score) VALUES (?, ?, ?, ?, ?, ?)")) {
      for (int i = 0; i < r.aRows().length; i++) {
        ps.setLong(1, key);
        ps.setInt(2, r.seq());
        ps.setInt(3, i);
        ps.setInt(4, r.aRows()[i]);
        ps.setInt(5, r.bRows()[i]);
        ps.setDouble(6, r.scores()[i]);
        ps.addBatch();
        if ((i & 4095) == 4095) {
          ps.executeBatch();
        }
      }
      ps.executeBatch();
    }
  }

  List<SelectionRecord> load(long key) throws SQLException {
    List<SelectionRecord> out = new ArrayList<>();
    try (PreparedStatement ps = connection.prepareStatement(
        "SELECT seq, selection_id, model_version, strategy, parameters, seed, batch_size, num_candidates,"
            + " num_comparisons, create_time_ms, wall_time_ns, pending_ttl_ms, log_det_gain, gain_reference_id,"
            + " gain_reference_per_label FROM selections"
            + " WHERE project_key = ? ORDER BY seq");
        PreparedStatement pairs = connection.prepareStatement(
            "SELECT a_row, b_row, score FROM selection_pairs WHERE project_key = ? AND seq = ? ORDER BY idx")) {
      ps.setLong(1, key);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          int seq = rs.getInt(1);
          pairs.setLong(1, key);
          pairs.setInt(2, seq);
          List<int[]> rows = new ArrayList<>();
          List<Double> scores = new ArrayList<>();
          try (ResultSet pr = pairs.executeQuery()) {
            while (pr.next()) {
              rows.add(new int[] {pr.getInt(1), pr.getInt(2)});
              scores.add(pr.getDouble(3));
            }
          }
          int n = rows.size();
          int[] a = new int[n];
          int[] b = new int[n];
          double[] sc = new double[n];
          for (int i = 0; i < n; i++) {
            a[i] = rows.get(i)[0];
            b[i] = rows.get(i)[1];
            sc[i] = scores.get(i);
          }
          double gain = rs.getDouble(13);
          SelectionGain g = rs.wasNull() ? null : new SelectionGain(gain, rs.getString(14), rs.getDouble(15));
          out.add(new SelectionRecord(seq, rs.getString(2), rs.getLong(3), rs.getString(4), rs.getString(5),
              rs.getLong(6), rs.getInt(7), rs.getLong(8), rs.getInt(9), rs.getLong(10), rs.getLong(11), a, b, sc,
              rs.getLong(12), g));
        }
      }
    }
    return out;
  }

  void release(long key, int selectionSeq, int[] indices, long releasedTimeMillis) throws SQLException {
    try (PreparedStatement ps = connection.prepareStatement(
        "UPDATE selection_pairs SET released_time_ms = ? WHERE project_key = ? AND seq = ? AND idx = ?")) {
      for (int idx : indices) {
        ps.setLong(1, releasedTimeMillis);
        ps.setLong(2, key);
        ps.setInt(3, selectionSeq);
        ps.setInt(4, idx);
        ps.addBatch();
      }
      ps.executeBatch();
    }
  }

  void loadReleased(long key, SqliteStore.ReleasedSink sink) throws SQLException {
    try (PreparedStatement ps = connection.prepareStatement(
        "SELECT seq, idx FROM selection_pairs WHERE project_key = ? AND released_time_ms != 0 ORDER BY seq, idx")) {
      ps.setLong(1, key);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          sink.accept(rs.getInt(1), rs.getInt(2));
        }
      }
    }
  }
}
