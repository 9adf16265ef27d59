package dev.activerm.server.core.selection;

import dev.activerm.server.core.errors.Shown;
import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.Violations;
import dev.activerm.server.core.project.ProjectSpec;
import dev.activerm.server.core.strategy.Strategy;
import dev.activerm.server.core.strategy.StrategyParams;
import java.util.List;

/**
 * A SelectBatch call in domain terms; it owns its ranges and defaults ({@link #check}).
 *
 * @param explicitA a ids of the explicit pairs (EXPLICIT only), same length as explicitB
 * @param promptIds WITHIN_PROMPT / CROSS_PROMPT only: restrict the candidates to responses to
 *     these prompts (duplicates allowed); empty: every prompt
 * @param maxCandidates 0: {@link #DEFAULT_MAX_CANDIDATES}
 * @param modelVersion 0: the latest
 * @param pendingTtlMillis 0: the project's pending TTL; -1: malformed (rejected by {@link #check})
 */
public record SelectRequest(
    String projectId,
    int batchSize,
    Strategy strategy,
    CandidateSource source,
    List<String> explicitA,
    List<String> explicitB,
    List<String> promptIds,
    long maxCandidates,
    long seed,
    boolean includeLabeled,
    boolean includePending,
    long modelVersion,
    StrategyParams params,
    long pendingTtlMillis) {
  public static final int MAX_BATCH = 100_000;
  public static final long DEFAULT_MAX_CANDIDATES = 1_000_000;
  public static final long MAX_CANDIDATES = 100_000_000;
  public static final int MAX_EXPLICIT_PAIRS = 10_000_000;
  public static final int MAX_PROMPT_IDS = 1_000_000;

  public SelectRequest {
    explicitA = List.copyOf(explicitA);
    explicitB = List.copyOf(explicitB);
    promptIds = List.copyOf(promptIds);
    if (source == CandidateSource.EXPLICIT && !promptIds.isEmpty()) {
      throw new IllegalArgumentException("prompt ids restrict WITHIN_PROMPT / CROSS_PROMPT candidates only");
    }
  }

  /** The request's name of the prompt_ids field, e.g. "candidates.cross_prompt.prompt_ids". */
  public String promptIdsField() {
    return "candidates." + (source == CandidateSource.WITHIN_PROMPT ? "within_prompt" : "cross_prompt")
        + ".prompt_ids";
  }

  /** The candidate cap with its default applied. */
  public long maxCandidatesOrDefault() {
    return maxCandidates == 0 ? DEFAULT_MAX_CANDIDATES : maxCandidates;
  }

  /** INVALID_ARGUMENT naming every field out of range. */
  void check() {
    Violations v = new Violations();
    if (batchSize < 1 || batchSize > MAX_BATCH) {
      v.add("batch_size", "is " + batchSize + "; use 1.." + MAX_BATCH);
    }
    if (maxCandidates < 0 || maxCandidates > MAX_CANDIDATES) {
      v.add("max_candidates", "is " + maxCandidates + "; use 0.." + MAX_CANDIDATES + " (0 means "
          + DEFAULT_MAX_CANDIDATES + ")");
    }
    if (modelVersion < 0) {
      v.add("model_version", "is " + modelVersion + "; use 0 (latest) or a version >= 1");
    }
    String ttl = ProjectSpec.pendingTtlProblem(pendingTtlMillis);
    if (ttl != null) {
      v.add("pending_ttl", ttl);
    }
    if (promptIds.size() > MAX_PROMPT_IDS) {
      v.add(promptIdsField(), "has " + promptIds.size() + " prompt ids; send 0.." + MAX_PROMPT_IDS
          + " (empty means every prompt of the project)");
    }
    if (source == CandidateSource.EXPLICIT) {
      int n = explicitA.size();
      if (n == 0 || n > MAX_EXPLICIT_PAIRS) {
        v.add("candidates.explicit_pairs.pairs", "has " + n + " pairs; send 1.." + MAX_EXPLICIT_PAIRS);
      }
      for (int i = 0; i < n; i++) {
        if (explicitA.get(i).equals(explicitB.get(i))) {
          v.add("candidates.explicit_pairs.pairs[" + i + "].b_id",
              "equals a_id ('" + Shown.id(explicitA.get(i)) + "'); a response cannot be compared with itself");
        }
      }
    }
    v.throwIfAny(ActiveRmException.Kind.INVALID_ARGUMENT, "Invalid SelectBatch request:");
  }
}
