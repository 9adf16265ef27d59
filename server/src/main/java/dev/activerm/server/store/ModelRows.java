package dev.activerm.server.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.stream.Collectors;

/** The models table: one row per fitted version. Runs inside the caller's transaction. */
final class ModelRows {
  private final Connection connection;

  ModelRows(Connection connection) {
    this.connection = connection;
  }

  static void createTable(Statement s) throws SQLException {
    s.execute(
        "CREATE TABLE IF NOT EXISTS models ("
            + " project_key INTEGER NOT NULL,"
            + " version INTEGER NOT NULL,"
            + " head_type TEXT NOT NULL,"
            + " layer_sizes TEXT NOT NULL,"
            + " params BLOB NOT NULL,"
            + " loss REAL NOT NULL,"
            + " iterations INTEGER NOT NULL,"
            + " gradient_norm REAL NOT NULL,"
            + " converged INTEGER NOT NULL,"
            + " train_accuracy REAL NOT NULL,"
            + " validation_accuracy REAL NOT NULL,"
            + " wall_time_ns INTEGER NOT NULL,"
            + " num_comparisons INTEGER NOT NULL,"
            + " comparisons_seen INTEGER NOT NULL,"
            + " create_time_ms INTEGER NOT NULL,"
            + " PRIMARY KEY (project_key, version)) WITHOUT ROWID");
  }

  void insert(ModelRecord m) throws SQLException {
    try (PreparedStatement ps = connection.prepareStatement(
        "INSERT INTO models (project_key, version, head_type, layer_sizes, params, loss, iterations, gradient_norm,"
            + " converged, train_accuracy, validation_accuracy, wall_time_ns, num_comparisons, comparisons_seen,"
            + " create_time_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
      ps.setLong(1, m.projectKey());
      ps.setLong(2, m.version());
      ps.setString(3, m.headType());
      ps.setString(4, Arrays.stream(m.layerSizes()).mapToObj(Integer::toString).collect(Collectors.joining(",")));
      ps.setBytes(5, m.params());
      ps.setDouble(6, m.loss());
      ps.setInt(7, m.iterations());
      ps.setDouble(8, m.gradientNorm());
      ps.setInt(9, m.converged() ? 1 : 0);
      ps.setDouble(10, m.trainAccuracy());
      ps.setDouble(11, m.validationAccuracy());
      ps.setLong(12, m.wallNanos());
      ps.setLong(13, m.numComparisons());
      ps.setLong(14, m.comparisonsSeen());
      ps.setLong(15, m.createTimeMillis());
      ps.executeUpdate();
    }
  }

  /** One model version of a project, or null; version 0 means the latest. */
  ModelRecord load(long key, long version) throws SQLException {
    String sql = "SELECT project_key, version, head_type, layer_sizes, params, loss, iterations, gradient_norm,"
        + " converged, train_accuracy, validation_accuracy, wall_time_ns, num_comparisons, comparisons_seen,"
        + " create_time_ms FROM models WHERE project_key = ?"
        + (version == 0 ? " ORDER BY version DESC LIMIT 1" : " AND version = ?");
    try (PreparedStatement ps = connection.prepareStatement(sql)) {
      ps.setLong(1, key);
      if (version != 0) {
        ps.setLong(2, version);
      }
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return null;
        }
        int[] sizes = Arrays.stream(rs.getString(4).split(",")).mapToInt(Integer::parseInt).toArray();
        return new ModelRecord(
            rs.getLong(1), rs.getLong(2), rs.getString(3), sizes, rs.getBytes(5), rs.getDouble(6), rs.getInt(7),
            rs.getDouble(8), rs.getInt(9) != 0, rs.getDouble(10), rs.getDouble(11), rs.getLong(12), rs.getLong(13),
            rs.getLong(14), rs.getLong(15));
      }
    }
  }
}
