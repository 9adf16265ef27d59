package dev.activerm.server.core.selection;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.FieldViolation;
import dev.activerm.server.core.errors.Shown;
import dev.activerm.server.core.errors.Violations;
import dev.activerm.server.core.project.EmbeddingValues;
import dev.activerm.server.core.project.Identifiers;
import dev.activerm.server.core.project.IngestClaim;
import dev.activerm.server.core.project.ProjectState;
import dev.activerm.server.core.project.ResponseBatch;
import dev.activerm.server.core.project.Responses;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;

/**
 * The rows a RegisterSelection carries (RegisterSelectionRequest.new_responses) on their way
 * into the pool through the AddResponses commit path, not a second writer: the project's
 * upload slot, a {@link ResponseBatch} writing past the pool file's committed end, and
 * {@link Responses#commit}, whose database transaction also stores the selection
 * ({@link ResponseBatch#commitWith}). So the rows exist only once that transaction commits: a
 * kill before it leaves them past the committed end, where start-up never reads; any failure
 * before it cuts them off again ({@link #close}).
 */
final class CarriedRows implements AutoCloseable {
  private final ProjectState state;
  private final Responses responses;
  private final RegisterRequest.Rows rows;
  private final IngestClaim claim;
  private final ResponseBatch batch;
  /** Index in the new rows (the ones the server does not hold) of each new id. */
  private final Map<String, Integer> newIndex = new HashMap<>();
  private int firstRow;

  private CarriedRows(ProjectState state, Responses responses, RegisterRequest.Rows rows, IngestClaim claim,
      ResponseBatch batch) {
    this.state = state;
    this.responses = responses;
    this.rows = rows;
    this.claim = claim;
    this.batch = batch;
  }

  /**
   * Takes the project's upload slot for a request with rows (waiting for an AddResponses in
   * progress; ABORTED after the slot's wait limit) and opens the pool file past its committed
   * end. Called before the project's write lock: an AddResponses commit needs that lock, so
   * waiting for the slot while holding it would stall both. Blocks the calling thread while it
   * waits, unlike AddResponses: a unary call has no stream to resume later.
   */
  static CarriedRows open(Responses responses, ProjectState state, RegisterRequest.Rows rows) {
    if (rows.isEmpty()) {
      return new CarriedRows(state, responses, rows, null, null);
    }
    IngestClaim claim = responses.claim(state.spec().id());
    try {
      claim.granted().get();
    } catch (ExecutionException e) {
      claim.withdraw();
      throw e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      claim.withdraw();
      Thread.currentThread().interrupt();
      throw ActiveRmException.aborted("RegisterSelection was interrupted while waiting for an upload to project '"
          + state.spec().id() + "'; nothing was stored, retry");
    }
    return new CarriedRows(state, responses, rows, claim, responses.open(claim));
  }

  /**
   * Checks every row against the project (caller holds the write lock) and writes the ones it
   * does not hold to the pool file, uncommitted. A held id must come with its stored prompt
   * id and embedding bit for bit. INVALID_ARGUMENT naming each bad row; nothing is kept.
   */
  void check() {
    if (batch == null) {
      return;
    }
    int dim = state.spec().embeddingDim();
    String project = state.spec().id();
    if (rows.cols() != dim) {
      throw ActiveRmException.invalid("Invalid RegisterSelection new_responses; nothing was stored: embeddings.cols is "
          + rows.cols() + " but project '" + project + "' has embedding_dim " + dim + "; send rows of length " + dim,
          new FieldViolation("new_responses.embeddings.cols", "is " + rows.cols()
              + ", the project's embedding_dim is " + dim));
    }
    Violations v = new Violations();
    List<String> ids = new ArrayList<>();
    List<String> prompts = new ArrayList<>();
    List<Integer> from = new ArrayList<>();
    float[] stored = new float[dim];
    for (int i = 0; i < rows.ids().size(); i++) {
      String id = rows.ids().get(i);
      String prompt = rows.promptIds().get(i);
      String field = "new_responses.response_ids[" + i + "]";
      String problem = Identifiers.problem(id);
      if (problem != null) {
        v.add(field, problem);
        continue;
      }
      String promptProblem = Identifiers.problem(prompt);
      if (promptProblem != null) {
        v.add("new_responses.prompt_ids[" + i + "]", promptProblem);
        continue;
      }
      String valueProblem = valueProblem(i, dim);
      if (valueProblem != null) {
        v.add("new_responses.embeddings.data", "row " + i + " ('" + Shown.id(id) + "'), " + valueProblem);
        continue;
      }
      int held = state.responses().rowOf(id);
      if (held < 0) {
        newIndex.put(id, ids.size());
        ids.add(id);
        prompts.add(prompt);
        from.add(i);
        continue;
      }
      String differs = differsFromStored(held, i, prompt, dim, stored);
      if (differs != null) {
        v.add(field, "'" + Shown.id(id) + "' is already in project '" + project + "' " + differs
            + "; send the stored row unchanged or leave it out (the job must score the rows the server holds)");
      }
    }
    v.throwIfAny(ActiveRmException.Kind.INVALID_ARGUMENT, "Invalid RegisterSelection new_responses; nothing was stored:");
    firstRow = state.pool().size();
    if (!ids.isEmpty()) {
      float[] values = new float[Math.multiplyExact(ids.size(), dim)];
      for (int j = 0; j < from.size(); j++) {
        System.arraycopy(rows.values(), from.get(j) * dim, values, j * dim, dim);
      }
      batch.addChunk(ids, prompts, ids.size(), dim, values);
    }
  }

  /** The first bad value of row i, or null (the bound AddResponses applies, EmbeddingValues). */
  private String valueProblem(int i, int dim) {
    for (int c = 0; c < dim; c++) {
      String p = EmbeddingValues.problem(rows.values()[i * dim + c]);
      if (p != null) {
        return "column " + c + " " + p;
      }
    }
    return null;
  }

  /**
   * Why row i differs from the stored row held, or null if equal. Bit for bit (raw float32
   * bits): the stored row is the one every score, label and fit uses.
   */
  private String differsFromStored(int held, int i, String prompt, int dim, float[] stored) {
    String storedPrompt = state.responses().promptId(held);
    if (!storedPrompt.equals(prompt)) {
      return "with prompt id '" + Shown.id(storedPrompt) + "', not '" + Shown.id(prompt) + "'";
    }
    state.pool().copyRow(held, stored, 0);
    for (int c = 0; c < dim; c++) {
      float sent = rows.values()[i * dim + c];
      if (Float.floatToRawIntBits(stored[c]) != Float.floatToRawIntBits(sent)) {
        return "with another embedding (column " + c + ": stored " + stored[c] + ", sent " + sent + ")";
      }
    }
    return null;
  }

  /** The row an id will have: held, or one of the new rows after the committed end; -1 if neither. */
  int rowOf(String id) {
    int held = state.responses().rowOf(id);
    if (held >= 0) {
      return held;
    }
    Integer j = newIndex.get(id);
    return j == null ? -1 : firstRow + j;
  }

  /** Whether a row is one of this request's new rows (not retired, never labeled or pending). */
  boolean isNew(int row) {
    return row >= firstRow && !newIndex.isEmpty();
  }

  int numNew() {
    return newIndex.size();
  }

  /**
   * Commits the new rows and durable (the selection's insert) in one database transaction, or
   * just runs durable when there are none. Caller holds the write lock.
   */
  void commit(Runnable durable) {
    if (newIndex.isEmpty()) {
      durable.run();
      return;
    }
    batch.commitWith(durable);
    responses.commit(batch);
  }

  /** Drops uncommitted rows and gives the upload slot back; a no-op after commit. */
  @Override
  public void close() {
    if (batch != null) {
      responses.abort(batch);
    } else if (claim != null) {
      claim.withdraw();
    }
  }
}
