package dev.activerm.server.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The projects table and pending_file_deletions; a DeleteProject removes the project's rows
 * of every table. Methods run inside the caller's transaction ({@link SqliteStore}).
 */
final class ProjectRows {
  /** Every table with a project_key column, cleared by a delete (projects last). */
  private static final List<String> PROJECT_TABLES = List.of(
      "response_batches", "retired_responses", "comparisons", "selections", "selection_pairs", "models", "projects");

  private final Connection connection;

  ProjectRows(Connection connection) {
    this.connection = connection;
  }

  static void createTables(Statement s) throws SQLException {
    s.execute(
        "CREATE TABLE IF NOT EXISTS projects ("
            + " project_key INTEGER PRIMARY KEY AUTOINCREMENT,"
            + " project_id TEXT NOT NULL UNIQUE,"
            + " embedding_dim INTEGER NOT NULL,"
            + " head_type TEXT NOT NULL,"
            + " hidden_sizes TEXT NOT NULL,"
            + " l2 REAL NOT NULL,"
            + " create_time_ms INTEGER NOT NULL)");
    // Pool files to remove: written in the same transaction as a DeleteProject, removed by the
    // delete right after it commits (or at the next start if the server stopped in between), so
    // no pool file is ever deleted on the strength of a missing database row.
    s.execute("CREATE TABLE IF NOT EXISTS pending_file_deletions (project_key INTEGER PRIMARY KEY)");
  }

  long insert(ProjectRecord p) throws SQLException {
    try (PreparedStatement ps = connection.prepareStatement(
        "INSERT INTO projects (project_id, embedding_dim, head_type, hidden_sizes, l2, create_time_ms,"
            + " pending_ttl_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
        Statement.RETURN_GENERATED_KEYS)) {
      ps.setString(1, p.id());
      ps.setInt(2, p.embeddingDim());
      ps.setString(3, p.headType());
      ps.setString(4, Arrays.stream(p.hiddenSizes()).mapToObj(Integer::toString).collect(Collectors.joining(",")));
      ps.setDouble(5, p.l2());
      ps.setLong(6, p.createTimeMillis());
      ps.setLong(7, p.pendingTtlMillis());
      ps.executeUpdate();
      try (ResultSet keys = ps.getGeneratedKeys()) {
        keys.next();
        return keys.getLong(1);
      }
    }
  }

  List<ProjectRecord> loadAll() throws SQLException {
    List<ProjectRecord> out = new ArrayList<>();
    try (Statement s = connection.createStatement();
        ResultSet rs = s.executeQuery(
            "SELECT project_key, project_id, embedding_dim, head_type, hidden_sizes, l2, create_time_ms,"
                + " pending_ttl_ms FROM projects ORDER BY project_key")) {
      while (rs.next()) {
        String hidden = rs.getString(5);
        int[] sizes = hidden.isEmpty()
            ? new int[0]
            : Arrays.stream(hidden.split(",")).mapToInt(Integer::parseInt).toArray();
        out.add(new ProjectRecord(
            rs.getLong(1), rs.getString(2), rs.getInt(3), rs.getString(4), sizes, rs.getDouble(6), rs.getLong(7),
            rs.getLong(8)));
      }
    }
    return out;
  }

  void delete(long key) throws SQLException {
    for (String table : PROJECT_TABLES) {
      try (PreparedStatement ps = connection.prepareStatement("DELETE FROM " + table + " WHERE project_key = ?")) {
        ps.setLong(1, key);
        ps.executeUpdate();
      }
    }
    try (PreparedStatement ps = connection.prepareStatement(
        "INSERT OR IGNORE INTO pending_file_deletions (project_key) VALUES (?)")) {
      ps.setLong(1, key);
      ps.executeUpdate();
    }
  }

  List<Long> pendingFileDeletions() throws SQLException {
    List<Long> out = new ArrayList<>();
    try (Statement s = connection.createStatement();
        ResultSet rs = s.executeQuery("SELECT project_key FROM pending_file_deletions ORDER BY project_key")) {
      while (rs.next()) {
        out.add(rs.getLong(1));
      }
    }
    return out;
  }

  void fileDeletionDone(long key) throws SQLException {
    try (PreparedStatement ps = connection.prepareStatement("DELETE FROM pending_file_deletions WHERE project_key = ?")) {
      ps.setLong(1, key);
      ps.executeUpdate();
    }
  }
}
