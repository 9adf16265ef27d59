package dev.activerm.server.store;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Metadata of every project in one SQLite file (WAL, synchronous=FULL): projects,
 * response ids by pool row, comparisons. Each public method is one transaction, and a
 * method returns only after its transaction is durable. Embeddings live in
 * {@link PoolFiles}; the rows of the responses table are the commit point for them.
 *
 * <p>One connection, serialised: SQLite has one writer anyway, and reads happen only at
 * start-up (the server answers reads from memory).
 */
public final class SqliteStore implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SqliteStore.class);
  /** 2: the labeling lifecycle (comparison ids and tombstones, retired responses, released pairs, TTLs). */
  static final int SCHEMA_VERSION = 3;

  private final Connection connection;
  private final Path dataDir;
  /** True while {@link #inOneTransaction} runs its writes: they join its transaction. */
  private boolean joined;

  private SqliteStore(Connection connection, Path dataDir) {
    this.connection = connection;
    this.dataDir = dataDir;
  }

  /**
   * Opens (creating if needed) activerm.db in dataDir. Normally with SQLite's shared locking,
   * so an operator can take an online backup (docs/operations.md); on a full disk, where the
   * -shm file of the WAL index cannot be created, in exclusive locking mode instead, so the
   * server still starts and serves reads.
   */
  public static SqliteStore open(Path dataDir) {
    try {
      return open(dataDir, false);
    } catch (StoreException e) {
      if (!e.diskFull()) {
        throw e;
      }
      log.warn("the disk holding {} is full: opening the database in exclusive locking mode (its WAL index in"
          + " memory, no -shm file). Writes are refused until space is freed; online backups with sqlite3 need"
          + " a restart after that", dataDir.toAbsolutePath());
      return open(dataDir, true);
    }
  }

  private static SqliteStore open(Path dataDir, boolean exclusive) {
    Connection c = null;
    try {
      Files.createDirectories(dataDir);
      c = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve("activerm.db"));
      SqliteStore store = new SqliteStore(c, dataDir);
      try (Statement s = c.createStatement()) {
        if (exclusive) {
          // Before the first access: with the lock held for good SQLite keeps the WAL index in
          // heap memory. Safe, as the data dir belongs to this one process (DataDirLock).
          s.execute("PRAGMA locking_mode=EXCLUSIVE");
        }
        s.execute("PRAGMA journal_mode=WAL");
        // FULL: a commit in WAL mode is fsynced before it returns, so acknowledged means durable.
        s.execute("PRAGMA synchronous=FULL");
        s.execute("PRAGMA busy_timeout=10000");
      }
      store.inTransaction("opening the database", () -> {
        try (Statement s = store.connection.createStatement()) {
          int version;
          try (ResultSet rs = s.executeQuery("PRAGMA user_version")) {
            version = rs.getInt(1);
          }
          if (version > SCHEMA_VERSION) {
            throw new StoreException(
                "the data dir " + dataDir + " was written by a newer activerm (schema " + version
                    + ", this server knows " + SCHEMA_VERSION + "); upgrade the server");
          }
          // IF NOT EXISTS: on a current database nothing here writes, so a server can start
          // (and serve reads) on a full disk.
          createTables(s);
          if (version < 2) {
            migrateToLifecycle(s);
          }
          if (version < 3) {
            migrateToSelectionGain(s);
          }
          if (version != SCHEMA_VERSION) {
            s.execute("PRAGMA user_version=" + SCHEMA_VERSION);
          }
        }
        return null;
      });
      return store;
    } catch (SQLException | java.io.IOException | RuntimeException e) {
      if (c != null) {
        try {
          c.close();
        } catch (SQLException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      if (e instanceof StoreException se) {
        throw se;
      }
      if (DiskFull.causedBy(e, dataDir)) {
        throw StoreException.diskFull("opening the database in " + dataDir + ": " + e.getMessage(), e);
      }
      throw new StoreException("cannot open the database in " + dataDir + ": " + e.getMessage(), e);
    }
  }

  private static void createTables(Statement s) throws SQLException {
    s.execute(
        "CREATE TABLE IF NOT EXISTS projects ("
            + " project_key INTEGER PRIMARY KEY AUTOINCREMENT,"
            + " project_id TEXT NOT NULL UNIQUE,"
            + " embedding_dim INTEGER NOT NULL,"
            + " head_type TEXT NOT NULL,"
            + " hidden_sizes TEXT NOT NULL,"
            + " l2 REAL NOT NULL,"
            + " create_time_ms INTEGER NOT NULL)");
    createModelsTable(s);
    s.execute(
        "CREATE TABLE IF NOT EXISTS responses ("
            + " project_key INTEGER NOT NULL,"
            + " row_index INTEGER NOT NULL,"
            + " response_id TEXT NOT NULL,"
            + " prompt_id TEXT NOT NULL,"
            + " PRIMARY KEY (project_key, row_index)) WITHOUT ROWID");
    s.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS responses_by_id ON responses (project_key, response_id)");
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
    createSelectionTables(s);
    // Pool files to remove: written in the same transaction as a DeleteProject, removed by the
    // delete right after it commits (or at the next start if the server stopped in between), so
    // no pool file is ever deleted on the strength of a missing database row.
    s.execute("CREATE TABLE IF NOT EXISTS pending_file_deletions (project_key INTEGER PRIMARY KEY)");
  }

  /** Inserts a project and returns its key (never reused, even after a delete). */
  public synchronized long insertProject(ProjectRecord p) {
    return inTransaction("storing a new project", () -> {
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
    });
  }

  public synchronized List<ProjectRecord> loadProjects() {
    return inTransaction(() -> {
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
    });
  }

  /**
   * Deletes a project and all its rows in one transaction, and records that its pool file is
   * to be removed ({@link #pendingFileDeletions}).
   */
  public synchronized void deleteProject(long key) {
    inTransaction("deleting a project", () -> {
      for (String table : List.of("responses", "comparisons", "selections", "selection_pairs", "models", "projects")) {
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
      return null;
    });
  }

  /** Keys of deleted projects whose pool files may still exist, in key order. */
  public synchronized List<Long> pendingFileDeletions() {
    return inTransaction(() -> {
      List<Long> out = new ArrayList<>();
      try (Statement s = connection.createStatement();
          ResultSet rs = s.executeQuery("SELECT project_key FROM pending_file_deletions ORDER BY project_key")) {
        while (rs.next()) {
          out.add(rs.getLong(1));
        }
      }
      return out;
    });
  }

  /** The pool files of a deleted project are gone: forget the pending deletion. */
  public synchronized void fileDeletionDone(long key) {
    inTransaction("recording a finished file deletion", () -> {
      try (PreparedStatement ps = connection.prepareStatement("DELETE FROM pending_file_deletions WHERE project_key = ?")) {
        ps.setLong(1, key);
        ps.executeUpdate();
      }
      return null;
    });
  }

  /** Commits response rows firstRow.. of a project: the commit point of their embeddings. */
  public synchronized void appendResponses(long key, int firstRow, List<String> ids, List<String> promptIds) {
    inTransaction("storing response ids", () -> {
      try (PreparedStatement ps = connection.prepareStatement(
          "INSERT INTO responses (project_key, row_index, response_id, prompt_id) VALUES (?, ?, ?, ?)")) {
        for (int i = 0; i < ids.size(); i++) {
          ps.setLong(1, key);
          ps.setInt(2, firstRow + i);
          ps.setString(3, ids.get(i));
          ps.setString(4, promptIds.get(i));
          ps.addBatch();
          if ((i & 4095) == 4095) {
            ps.executeBatch();
          }
        }
        ps.executeBatch();
      }
      return null;
    });
  }

  /** Calls sink(responseId, promptId) for each committed row of a project, in row order. */
  public synchronized int loadResponses(long key, ResponseSink sink) {
    return inTransaction(() -> {
      int rows = 0;
      try (PreparedStatement ps = connection.prepareStatement(
          "SELECT row_index, response_id, prompt_id FROM responses WHERE project_key = ? ORDER BY row_index")) {
        ps.setLong(1, key);
        ps.setFetchSize(8192);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            if (rs.getInt(1) != rows) {
              throw new StoreException("project key " + key + ": response rows are not contiguous at " + rows);
            }
            sink.accept(rs.getString(2), rs.getString(3));
            rows++;
          }
        }
      }
      return rows;
    });
  }

  /** Appends live comparisons, each at its own seq with its id. */
  public synchronized void appendComparisons(long key, List<ComparisonRecord> rows) {
    inTransaction("storing comparisons", () -> {
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
      return null;
    });
  }

  /** Every comparison of a project in seq order, deleted ones (tombstones) included. */
  public synchronized void loadComparisons(long key, Consumer<ComparisonRecord> sink) {
    inTransaction(() -> {
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
      return null;
    });
  }

  @Override
  public synchronized void close() {
    try {
      connection.close();
    } catch (SQLException e) {
      throw new StoreException("closing the database failed: " + e.getMessage(), e);
    }
  }

  /** Receives one response row at load time. */
  @FunctionalInterface
  public interface ResponseSink {
    void accept(String responseId, String promptId);
  }

  @FunctionalInterface
  private interface Work<T> {
    T run() throws SQLException;
  }

  /**
   * Runs work as one transaction. Transactions are explicit statements on an auto-commit
   * connection rather than the driver's setAutoCommit(false): when SQLite rolls a transaction
   * back by itself (it does on SQLITE_FULL and some I/O errors), the driver's own ROLLBACK fails
   * and it stops opening new transactions, so later calls would each commit statement by
   * statement, a failed call's rows would stay, and every COMMIT would fail ("no transaction is
   * active"). Here each call begins afresh, and a failure always ends in ROLLBACK.
   */
  private <T> T inTransaction(String what, Work<T> work) {
    // Inside inOneTransaction the outer call begins, commits and rolls back for all of them.
    boolean outer = !joined;
    try {
      if (outer) {
        execute("BEGIN");
      }
      T result = work.run();
      if (outer) {
        execute("COMMIT");
      }
      return result;
    } catch (SQLException | RuntimeException e) {
      if (outer) {
        rollback(e);
      }
      if (e instanceof StoreException se) {
        throw se;
      }
      if (DiskFull.causedBy(e, dataDir)) {
        throw StoreException.diskFull(what + ": " + e.getMessage(), e);
      }
      throw new StoreException(what + " failed: " + e.getMessage(), e);
    }
  }

  /**
   * Runs several of this store's public writes (called from writes, on this thread) as one
   * transaction: RegisterSelection's new response rows and the selection naming them commit
   * together or not at all. Durable when this returns.
   */
  public synchronized void inOneTransaction(String what, Runnable writes) {
    if (joined) {
      throw new IllegalStateException("inOneTransaction does not nest");
    }
    inTransaction(what, () -> {
      joined = true;
      try {
        writes.run();
      } finally {
        joined = false;
      }
      return null;
    });
  }

  private <T> T inTransaction(Work<T> work) {
    return inTransaction("database operation", work);
  }

  private void rollback(Exception failure) {
    try {
      execute("ROLLBACK");
    } catch (SQLException e) {
      // SQLite may already have rolled back by itself (SQLITE_FULL does): then there is nothing to undo.
      if (e.getMessage() == null || !e.getMessage().contains("no transaction is active")) {
        failure.addSuppressed(e);
      }
    }
  }

  private void execute(String sql) throws SQLException {
    try (Statement s = connection.createStatement()) {
      s.execute(sql);
    }
  }

  // ---- models (Fit/Score) ----

  private static void createModelsTable(Statement s) throws SQLException {
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

  /** Stores one model version; durable when this returns. */
  public synchronized void insertModel(ModelRecord m) {
    inTransaction("storing a model", () -> {
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
      return null;
    });
  }

  private static void createSelectionTables(Statement s) throws SQLException {
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

  /** Stores one selection with its pairs in one transaction; durable when this returns. */
  public synchronized void insertSelection(long key, SelectionRecord r) {
    inTransaction("storing a selection", () -> {
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
      return null;
    });
  }

  /** One model version of a project, or null; version 0 means the latest. */
  public synchronized ModelRecord loadModel(long key, long version) {
    return inTransaction(() -> {
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
    });
  }

  /** A project's selections in seq order, with their pairs. */
  public synchronized List<SelectionRecord> loadSelections(long key) {
    return inTransaction(() -> {
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
    });
  }

  // ---- the information a selection adds (schema 3)

  /**
   * Schema 2 -> 3, in the open transaction: nullable columns only, so every existing
   * selection reads back as "gain not measured" (NULL), which is what it is.
   */
  private static void migrateToSelectionGain(Statement s) throws SQLException {
    s.execute("ALTER TABLE selections ADD COLUMN log_det_gain REAL");
    s.execute("ALTER TABLE selections ADD COLUMN gain_reference_id TEXT");
    s.execute("ALTER TABLE selections ADD COLUMN gain_reference_per_label REAL");
  }

  // ---- the labeling lifecycle (schema 2)

  /**
   * Schema 1 -> 2, in the open transaction: new columns only, so every existing row keeps its
   * meaning (no TTL, nothing retired, released or deleted); existing comparisons get the ids
   * the server would have assigned them ("c-" + seq).
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

  /** Marks comparisons (by seq) deleted, all or none; durable when this returns. */
  public synchronized void deleteComparisons(long key, long[] seqs, long deletedTimeMillis) {
    inTransaction("deleting comparisons", () -> {
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
      return null;
    });
  }

  /** Marks response rows retired (rows already retired keep their time); durable when this returns. */
  public synchronized void retireResponses(long key, int[] rows, long retiredTimeMillis) {
    inTransaction("retiring responses", () -> {
      try (PreparedStatement ps = connection.prepareStatement(
          "UPDATE responses SET retired_time_ms = ? WHERE project_key = ? AND row_index = ? AND retired_time_ms = 0")) {
        for (int row : rows) {
          ps.setLong(1, retiredTimeMillis);
          ps.setLong(2, key);
          ps.setInt(3, row);
          ps.addBatch();
        }
        ps.executeBatch();
      }
      return null;
    });
  }

  /** The retired rows of a project, ascending. */
  public synchronized int[] loadRetiredRows(long key) {
    return inTransaction(() -> {
      List<Integer> rows = new ArrayList<>();
      try (PreparedStatement ps = connection.prepareStatement(
          "SELECT row_index FROM responses WHERE project_key = ? AND retired_time_ms != 0 ORDER BY row_index")) {
        ps.setLong(1, key);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            rows.add(rs.getInt(1));
          }
        }
      }
      return rows.stream().mapToInt(Integer::intValue).toArray();
    });
  }

  /** Marks pairs (by index in their selection) released; durable when this returns. */
  public synchronized void releasePairs(long key, int selectionSeq, int[] indices, long releasedTimeMillis) {
    inTransaction("releasing pairs", () -> {
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
      return null;
    });
  }

  /** Receives one released pair at load time: its selection's seq and its index there. */
  @FunctionalInterface
  public interface ReleasedSink {
    void accept(int selectionSeq, int index);
  }

  /** Calls sink for every released pair of a project. */
  public synchronized void loadReleasedPairs(long key, ReleasedSink sink) {
    inTransaction(() -> {
      try (PreparedStatement ps = connection.prepareStatement(
          "SELECT seq, idx FROM selection_pairs WHERE project_key = ? AND released_time_ms != 0 ORDER BY seq, idx")) {
        ps.setLong(1, key);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            sink.accept(rs.getInt(1), rs.getInt(2));
          }
        }
      }
      return null;
    });
  }
}
