package dev.activerm.server.core.project;

import dev.activerm.server.core.errors.Shown;
import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.Violations;
import dev.activerm.server.store.PoolFiles;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One AddResponses call in progress. Each chunk is checked as it arrives (shape, ids,
 * values finite and within {@link EmbeddingValues#MAX_ABS}, ids already stored), so a bad
 * upload fails at its first bad chunk, and
 * is then written past the pool file's committed end while the next chunk is in flight.
 * Nothing becomes part of the project until {@link Responses#commit} commits
 * the whole call; {@link Responses#abort} drops it.
 */
public final class ResponseBatch {
  private final ProjectState state;
  private final PoolFiles.Writer writer;
  private final String projectId;
  private final int dim;
  private final List<String> ids = new ArrayList<>();
  private final List<String> promptIds = new ArrayList<>();
  private final Set<String> seen = new HashSet<>();
  private final long maxBytes;
  private long bytes;
  private int chunkIndex;
  private final AtomicBoolean ended = new AtomicBoolean();
  /** Another durable write that commits in the same transaction as the rows; null for AddResponses. */
  private Runnable alsoDurable;

  ResponseBatch(ProjectState state, PoolFiles.Writer writer, String projectId, int dim, long maxBytes) {
    this.state = state;
    this.writer = writer;
    this.projectId = projectId;
    this.dim = dim;
    this.maxBytes = maxBytes;
  }

  public String projectId() {
    return projectId;
  }

  public int dim() {
    return dim;
  }

  /**
   * Adds one chunk: rows x cols values, row-major, with one response id and one prompt id
   * per row. Throws INVALID_ARGUMENT naming every bad field (with its row) otherwise.
   */
  public void addChunk(List<String> chunkIds, List<String> chunkPromptIds, int rows, int cols, float[] values) {
    addChunk(chunkIds, chunkPromptIds, rows, cols, FloatBuffer.wrap(values));
  }

  /**
   * The same with the values in a buffer (its position to its limit, e.g. a view of the
   * request's bytes), read twice (checked, then copied to the pool file) and never modified.
   */
  public void addChunk(List<String> chunkIds, List<String> chunkPromptIds, int rows, int cols, FloatBuffer values) {
    add(chunkIds, chunkPromptIds, rows, cols, values, null);
  }

  /**
   * The same with the values as little-endian float32 bytes (position to limit, a whole
   * number of floats), e.g. a view of the request's bytes: their range is checked in bulk on
   * the raw bits ({@link EmbeddingValues#allAccepted}; value by value only to name the bad
   * ones), then they are copied to the pool file; never modified.
   */
  public void addChunk(List<String> chunkIds, List<String> chunkPromptIds, int rows, int cols, ByteBuffer littleEndian) {
    if (littleEndian.remaining() % Float.BYTES != 0) {
      throw new IllegalArgumentException(littleEndian.remaining() + " bytes is not a whole number of float32 values");
    }
    ByteBuffer raw = littleEndian.slice().order(ByteOrder.LITTLE_ENDIAN);
    add(chunkIds, chunkPromptIds, rows, cols, raw.asFloatBuffer(), raw);
  }

  /** raw: the same values as little-endian bytes, or null when there are only the floats. */
  private void add(List<String> chunkIds, List<String> chunkPromptIds, int rows, int cols, FloatBuffer values,
      ByteBuffer raw) {
    int chunk = chunkIndex++;
    String where = "chunk " + chunk + ": ";
    bytes += (long) values.remaining() * Float.BYTES;
    if (Limits.exceeds(bytes, maxBytes)) {
      throw ActiveRmException.resourceExhausted(
          "this AddResponses call has sent " + (bytes >> 20) + " MiB of embeddings; one call may carry at most "
              + (maxBytes >> 20) + " MiB (--max-call-mib). Nothing was stored: split the upload into several calls");
    }
    Violations v = new Violations();
    if (chunkIds.isEmpty() && rows == 0) {
      v.add("response_ids", where + "the chunk has no rows; send response_ids, prompt_ids and embeddings");
    }
    if (chunkIds.size() != rows) {
      v.add(
          "embeddings.rows",
          where + "has " + rows + " embedding rows for " + chunkIds.size()
              + " response_ids; send one embedding row per response id");
    }
    if (chunkPromptIds.size() != chunkIds.size()) {
      v.add(
          "prompt_ids",
          where + "has " + chunkPromptIds.size() + " prompt_ids for " + chunkIds.size()
              + " response_ids; send one prompt id per response");
    }
    if (rows > 0 && cols != dim) {
      v.add(
          "embeddings.cols",
          where + "is " + cols + " but project '" + projectId + "' has embedding_dim " + dim
              + "; send embeddings of length " + dim + " or create a project with embedding_dim " + cols);
    }
    v.throwIfAny(ActiveRmException.Kind.INVALID_ARGUMENT, "Invalid AddResponses chunk " + chunk + ":");

    long firstRow = ids.size();
    Violations alreadyStored = new Violations();
    for (int i = 0; i < chunkIds.size(); i++) {
      String id = chunkIds.get(i);
      String problem = Identifiers.problem(id);
      if (problem != null) {
        v.add("response_ids[" + i + "]", where + "row " + (firstRow + i) + " of the call: " + problem);
      } else if (state.responses().rowOf(id) >= 0) {
        alreadyStored.add("response_ids[" + i + "]", where + "row " + (firstRow + i) + " of the call: '" + Shown.id(id)
            + "' is already in the project");
      } else if (!seen.add(id)) {
        v.add(
            "response_ids[" + i + "]",
            where + "'" + Shown.id(id) + "' appears twice in this call (row " + (firstRow + i)
                + "); response ids must be unique");
      }
      String promptProblem = Identifiers.problem(chunkPromptIds.get(i));
      if (promptProblem != null) {
        v.add("prompt_ids[" + i + "]", where + "row " + (firstRow + i) + " of the call: " + promptProblem);
      }
    }
    int base = values.position();
    // Every value at once on its bits; one by one only to name what is wrong.
    int n = raw != null && EmbeddingValues.allAccepted(raw) ? 0 : values.remaining();
    for (int i = 0; i < n; i++) {
      String problem = EmbeddingValues.problem(values.get(base + i));
      if (problem != null) {
        int row = i / dim;
        v.add(
            "embeddings.data",
            where + "row " + row + " (response '" + Shown.id(chunkIds.get(row)) + "'), column " + (i % dim) + " " + problem);
      }
    }
    v.throwIfAny(ActiveRmException.Kind.INVALID_ARGUMENT, "Invalid AddResponses chunk " + chunk + ":");
    alreadyStored.throwIfAny(
        ActiveRmException.Kind.ALREADY_EXISTS,
        "AddResponses: response ids already stored in project '" + projectId
            + "'; nothing from this call was stored. Send only new ids:");

    if (raw != null) {
      writer.write(raw);
    } else {
      writer.write(values);
    }
    ids.addAll(chunkIds);
    promptIds.addAll(chunkPromptIds);
  }

  /**
   * Makes write (RegisterSelection's selection insert, a store call) part of the database
   * transaction that commits these rows in {@link Responses#commit}: the rows and the
   * selection naming them then exist together or not at all.
   */
  public void commitWith(Runnable write) {
    alsoDurable = write;
  }

  Runnable alsoDurable() {
    return alsoDurable;
  }

  /** Marks the batch as ended (committed or aborted); true the first time only. */
  boolean end() {
    return ended.compareAndSet(false, true);
  }

  ProjectState state() {
    return state;
  }

  PoolFiles.Writer writer() {
    return writer;
  }

  public int size() {
    return ids.size();
  }

  List<String> ids() {
    return Collections.unmodifiableList(ids);
  }

  List<String> promptIds() {
    return Collections.unmodifiableList(promptIds);
  }
}
