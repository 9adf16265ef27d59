package dev.activerm.server.store;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Metadata of every project in one SQLite file (WAL, synchronous=FULL): projects, response
 * ids by pool row, comparisons, models, selections. Each public method is one transaction,
 * and a method returns only after its transaction is durable. Embeddings live in
 * {@link PoolFiles}; committing an upload's response rows is the commit point for them.
 *
 * <p>This class owns the connection, the transactions and the schema ({@link Schema}); the
 * statements of each table live in its own class ({@link ProjectRows}, {@link ResponseRows},
 * {@link ComparisonRows}, {@link ModelRows}, {@link SelectionRows}).
 *
 * <p>One connection, serialised: SQLite has one writer anyway, and reads happen at start-up
 * and when a project's ids are first needed (the server answers other reads from memory).
 */
public final class SqliteStore implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SqliteStore.class);
  static final int SCHEMA_VERSION = Schema.VERSION;

  private final Connection connection;
  private final Path dataDir;
  /** True while {@link #inOneTransaction} runs its writes: they join its transaction. */
  private boolean joined;
  private final ProjectRows projects;
  private final ResponseRows responses;
  private final ComparisonRows comparisons;
  private final ModelRows models;
  private final SelectionRows selections;

  private SqliteStore(Connection connection, Path dataDir) {
    this.connection = connection;
    this.dataDir = dataDir;
    this.projects = new ProjectRows(connection);
    this.responses = new ResponseRows(connection);
    this.comparisons = new ComparisonRows(connection);
    this.models = new ModelRows(connection);
    this.selections = new SelectionRows(connection);
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
          Schema.upgrade(s, dataDir);
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

  // ---- projects

  /** Inserts a project and returns its key (never reused, even after a delete). */
  public synchronized long insertProject(ProjectRecord p) {
    return inTransaction("storing a new project", () -> projects.insert(p));
  }

  public synchronized List<ProjectRecord> loadProjects() {
    return inTransaction(projects::loadAll);
  }

  /**
   * Deletes a project and all its rows in one transaction, and records that its pool file is
   * to be removed ({@link #pendingFileDeletions}).
   */
  public synchronized void deleteProject(long key) {
    inTransaction("deleting a project", () -> {
      projects.delete(key);
      return null;
    });
  }

  /** Keys of deleted projects whose pool files may still exist, in key order. */
  public synchronized List<Long> pendingFileDeletions() {
    return inTransaction(projects::pendingFileDeletions);
  }

  /** The pool files of a deleted project are gone: forget the pending deletion. */
  public synchronized void fileDeletionDone(long key) {
    inTransaction("recording a finished file deletion", () -> {
      projects.fileDeletionDone(key);
      return null;
    });
  }

  // ---- responses

  /**
   * Commits response rows firstRow.. of a project, the commit point of their embeddings;
   * promptsAfter is the project's number of distinct prompt ids with them.
   */
  public synchronized void appendResponses(
      long key, int firstRow, List<String> ids, List<String> promptIds, int promptsAfter) {
    inTransaction("storing response ids", () -> {
      responses.append(key, firstRow, ids, promptIds, promptsAfter);
      return null;
    });
  }

  /** A project's committed row count, distinct prompts and retired rows, without reading any id. */
  public synchronized ResponseSummary responseSummary(long key) {
    return inTransaction(() -> responses.summary(key));
  }

  /**
   * Calls sink(responseId, promptId) for committed rows 0..rows-1 of a project, in row order.
   * A StoreException marked {@link StoreException#damaged()} if the database does not hold
   * exactly those rows.
   */
  public synchronized void loadResponses(long key, int rows, ResponseSink sink) {
    inTransaction(() -> {
      responses.load(key, rows, sink);
      return null;
    });
  }

  /** Marks response rows retired (rows already retired keep their time); durable when this returns. */
  public synchronized void retireResponses(long key, int[] rows, long retiredTimeMillis) {
    inTransaction("retiring responses", () -> {
      responses.retire(key, rows, retiredTimeMillis);
      return null;
    });
  }

  /** The retired rows of a project, ascending. */
  public synchronized int[] loadRetiredRows(long key) {
    return inTransaction(() -> responses.retiredRows(key));
  }

  // ---- comparisons

  /** Appends live comparisons, each at its own seq with its id. */
  public synchronized void appendComparisons(long key, List<ComparisonRecord> rows) {
    inTransaction("storing comparisons", () -> {
      comparisons.append(key, rows);
      return null;
    });
  }

  /** Every comparison of a project in seq order, deleted ones (tombstones) included. */
  public synchronized void loadComparisons(long key, Consumer<ComparisonRecord> sink) {
    inTransaction(() -> {
      comparisons.load(key, sink);
      return null;
    });
  }

  /** Marks comparisons (by seq) deleted, all or none; durable when this returns. */
  public synchronized void deleteComparisons(long key, long[] seqs, long deletedTimeMillis) {
    inTransaction("deleting comparisons", () -> {
      comparisons.delete(key, seqs, deletedTimeMillis);
      return null;
    });
  }

  // ---- models

  /** Stores one model version; durable when this returns. */
  public synchronized void insertModel(ModelRecord m) {
    inTransaction("storing a model", () -> {
      models.insert(m);
      return null;
    });
  }

  /** One model version of a project, or null; version 0 means the latest. */
  public synchronized ModelRecord loadModel(long key, long version) {
    return inTransaction(() -> models.load(key, version));
  }

  // ---- selections

  /** Stores one selection with its pairs in one transaction; durable when this returns. */
  public synchronized void insertSelection(long key, SelectionRecord r) {
    inTransaction("storing a selection", () -> {
      selections.insert(key, r);
      return null;
    });
  }

  /** A project's selections in seq order, with their pairs. */
  public synchronized List<SelectionRecord> loadSelections(long key) {
    return inTransaction(() -> selections.load(key));
  }

  /** Marks pairs (by index in their selection) released; durable when this returns. */
  public synchronized void releasePairs(long key, int selectionSeq, int[] indices, long releasedTimeMillis) {
    inTransaction("releasing pairs", () -> {
      selections.release(key, selectionSeq, indices, releasedTimeMillis);
      return null;
    });
  }

  /** Calls sink for every released pair of a project. */
  public synchronized void loadReleasedPairs(long key, ReleasedSink sink) {
    inTransaction(() -> {
      selections.loadReleased(key, sink);
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

  /** Receives one response row when a project's ids are loaded. */
  @FunctionalInterface
  public interface ResponseSink {
    void accept(String responseId, String promptId);
  }

  /** Receives one released pair at load time: its selection's seq and its index there. */
  @FunctionalInterface
  public interface ReleasedSink {
    void accept(int selectionSeq, int index);
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

}
