package dev.activerm.server.core.selection;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.Shown;
import dev.activerm.server.core.errors.Violations;
import dev.activerm.server.core.project.ProjectSpec;
import dev.activerm.server.core.strategy.Strategy;
import dev.activerm.server.core.strategy.StrategyParams;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A RegisterSelection call in domain terms: a batch computed off the server (the Spark job)
 * for model version modelVersion, to be stored as a selection. It owns its ranges ({@link #check}).
 *
 * @param pendingTtlMillis 0: the project's pending TTL; -1: malformed (rejected by {@link #check})
 * @param computedOn what computed the batch (e.g. "spark"), stored in the selection's parameters
 * @param rows the rows of chosen responses the server may not hold yet ({@link Rows#NONE}: none)
 */
public record RegisterRequest(
    String projectId,
    Strategy strategy,
    long modelVersion,
    List<String> aIds,
    List<String> bIds,
    double[] scores,
    long seed,
    long numCandidates,
    CandidateSource source,
    long maxCandidates,
    long pendingTtlMillis,
    String computedOn,
    StrategyParams params,
    Rows rows) {
  private static final Pattern COMPUTED_ON = Pattern.compile("[a-z0-9_-]{1,64}");

  public RegisterRequest {
    aIds = List.copyOf(aIds);
    bIds = List.copyOf(bIds);
  }

  /**
   * RegisterSelectionRequest.new_responses: ids.size() rows of cols float32 values, row-major.
   * Their shape against each other is checked by {@link RegisterRequest#check}; against the
   * project (width, values, ids already held) by {@link CarriedRows}.
   */
  public record Rows(List<String> ids, List<String> promptIds, int rows, int cols, float[] values) {
    public static final Rows NONE = new Rows(List.of(), List.of(), 0, 0, new float[0]);

    public Rows {
      ids = List.copyOf(ids);
      promptIds = List.copyOf(promptIds);
    }

    public boolean isEmpty() {
      return ids.isEmpty() && rows == 0;
    }
  }

  /** INVALID_ARGUMENT naming every field out of range. */
  void check() {
    Violations v = new Violations();
    int n = aIds.size();
    if (n == 0 || n > SelectRequest.MAX_BATCH) {
      v.add("pairs", "has " + n + " pairs; send 1.." + SelectRequest.MAX_BATCH);
    }
    if (modelVersion < 1) {
      v.add("model_version", "is " + modelVersion
          + "; send ExportSelectionStateResponse.model_version the batch was computed for (>= 1)");
    }
    if (numCandidates < n) {
      v.add("num_candidates", "is " + numCandidates + "; must be at least the number of pairs (" + n + ")");
    }
    if (maxCandidates < 0) {
      v.add("max_candidates", "is " + maxCandidates + "; use >= 0");
    }
    if (computedOn == null || !COMPUTED_ON.matcher(computedOn).matches()) {
      v.add("computed_on", "is '" + Shown.id(computedOn == null ? "" : computedOn)
          + "'; use 1..64 characters of [a-z0-9_-], e.g. \"spark\"");
    }
    String ttl = ProjectSpec.pendingTtlProblem(pendingTtlMillis);
    if (ttl != null) {
      v.add("pending_ttl", ttl);
    }
    for (int i = 0; i < n; i++) {
      if (aIds.get(i).equals(bIds.get(i))) {
        v.add("pairs[" + i + "].b_id",
            "equals a_id ('" + Shown.id(aIds.get(i)) + "'); a response cannot be compared with itself");
      }
      if (!Double.isFinite(scores[i])) {
        v.add("pairs[" + i + "].score", "is " + scores[i] + "; send the finite score the strategy gave");
      }
    }
    checkRows(v);
    v.throwIfAny(ActiveRmException.Kind.INVALID_ARGUMENT, "Invalid RegisterSelection request; nothing was stored:");
  }

  /** new_responses against itself and the pairs: one prompt id and row per id, no repeats, each named by a pair. */
  private void checkRows(Violations v) {
    int n = rows.ids().size();
    if (rows.rows() != n) {
      v.add("new_responses.embeddings.rows", "is " + rows.rows() + " for " + n
          + " response_ids; send one embedding row per response id");
    }
    if (rows.promptIds().size() != n) {
      v.add("new_responses.prompt_ids", "has " + rows.promptIds().size() + " prompt ids for " + n
          + " response_ids; send one prompt id per response");
    }
    Set<String> named = new HashSet<>(aIds);
    named.addAll(bIds);
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < n; i++) {
      String id = rows.ids().get(i);
      String field = "new_responses.response_ids[" + i + "]";
      if (!seen.add(id)) {
        v.add(field, "'" + Shown.id(id) + "' appears twice in new_responses; send each row once");
      } else if (!named.contains(id)) {
        // The server is to hold only the labeled and pending part of the pool: a row no pair
        // names would be stored for nothing, and usually means the job sent the wrong rows.
        v.add(field, "'" + Shown.id(id) + "' is named by no pair of this request; send only the chosen responses' rows");
      }
    }
  }
}
