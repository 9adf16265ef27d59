package dev.activerm.server.core.project;

import java.util.List;

/**
 * A project's {@link ResponseIndex}, read from the store the first time a call needs an id,
 * rather than for every project at start-up: ids are the one part of a project whose heap and
 * load time grow with its pool (10^6 ids took 4.4 s and ~100 MiB), and many projects sit idle
 * between rounds. Until then GetProject and ListProjects answer from the counts start-up read
 * ({@link #numPrompts()}, {@link #numRetired()}); the first call that needs ids pays the load
 * (docs/benchmarks.md, "Ingestion and restart", reports it).
 *
 * <p>Loading and appending are serialised on this object and the loader reads exactly the rows
 * committed so far ({@link #append} advances that count after the store committed them), so a
 * load racing an upload's commit neither misses nor repeats its rows. A failed load (damaged
 * ids) is not remembered: each call that needs ids fails with it until the data dir is restored.
 */
final class LazyResponseIndex {
  /** Reads the ids of rows 0..rows-1 (and which of them are retired) from the store. */
  @FunctionalInterface
  interface Loader {
    ResponseIndex load(int rows);
  }

  private final Loader loader;
  private volatile ResponseIndex index;
  /** Committed rows, and start-up's counts; used only while index is null. */
  private int rows;
  private int prompts;
  private int retired;

  /** A new project: nothing to load. */
  LazyResponseIndex() {
    this.loader = null;
    this.index = new ResponseIndex();
  }

  /** A stored project with rows committed rows, prompts distinct prompt ids and retired retired rows. */
  LazyResponseIndex(Loader loader, int rows, int prompts, int retired) {
    this.loader = loader;
    this.rows = rows;
    this.prompts = prompts;
    this.retired = retired;
  }

  /** The index, loading it on first use. */
  ResponseIndex get() {
    ResponseIndex i = index;
    if (i != null) {
      return i;
    }
    synchronized (this) {
      if (index == null) {
        ResponseIndex loaded = loader.load(rows);
        if (loaded.size() != rows) {
          throw new IllegalStateException("loaded " + loaded.size() + " ids for " + rows + " committed rows");
        }
        index = loaded;
      }
      return index;
    }
  }

  /** Whether the ids are in memory (for tests and the log). */
  boolean loaded() {
    return index != null;
  }

  /**
   * Shows rows firstRow.. that the store has just committed (the caller holds the project's
   * write lock). Without a loaded index only the counts move; promptsAfter is the project's
   * distinct prompt count with them.
   */
  synchronized void append(int firstRow, List<String> ids, List<String> promptIds, int promptsAfter) {
    ResponseIndex i = index;
    if (i != null) {
      if (i.size() != firstRow) {
        throw new IllegalStateException("rows from " + firstRow + " appended to an index of " + i.size());
      }
      i.append(ids, promptIds);
      return;
    }
    if (rows != firstRow) {
      throw new IllegalStateException("rows from " + firstRow + " appended after " + rows + " committed rows");
    }
    rows += ids.size();
    prompts = promptsAfter;
  }

  int numPrompts() {
    ResponseIndex i = index;
    if (i != null) {
      return i.numPrompts();
    }
    synchronized (this) {
      return index != null ? index.numPrompts() : prompts;
    }
  }

  int numRetired() {
    ResponseIndex i = index;
    if (i != null) {
      return i.numRetired();
    }
    synchronized (this) {
      return index != null ? index.numRetired() : retired;
    }
  }
}
