package dev.activerm.server.core.project;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.Violations;
import dev.activerm.server.core.model.HeadSpec;
import java.time.Instant;

/**
 * What a project is, fixed at creation: id, embedding length, head, prior precision, and the
 * default pending TTL of its selections (0: none).
 */
public record ProjectSpec(
    String id, int embeddingDim, HeadSpec head, double l2, Instant createTime, long pendingTtlMillis) {
  public static final int MAX_EMBEDDING_DIM = 65536;
  public static final double DEFAULT_L2 = 1.0;
  /** Longest pending TTL (project default or per selection): 3650 days. */
  public static final long MAX_PENDING_TTL_MILLIS = 3650L * 86_400_000L;

  /**
   * Validates a CreateProject request and applies the defaults (l2 = 0 means 1.0).
   * Reports every bad field at once.
   */
  public static ProjectSpec create(
      String id, int embeddingDim, HeadSpec head, double l2, long pendingTtlMillis, Instant now) {
    Violations v = new Violations();
    String idProblem = Identifiers.problem(id);
    if (idProblem != null) {
      v.add("project_id", idProblem);
    }
    if (embeddingDim < 1 || embeddingDim > MAX_EMBEDDING_DIM) {
      v.add(
          "embedding_dim",
          "is " + embeddingDim + "; set it to the length of your embeddings, 1.." + MAX_EMBEDDING_DIM);
    }
    double lambda = l2 == 0.0 ? DEFAULT_L2 : l2;
    if (!(lambda > 0) || !Double.isFinite(lambda)) {
      v.add("l2", "is " + l2 + "; the prior precision must be finite and > 0 (0 means the default 1.0)");
    }
    String ttl = pendingTtlProblem(pendingTtlMillis);
    if (ttl != null) {
      v.add("pending_ttl", ttl);
    }
    v.throwIfAny(ActiveRmException.Kind.INVALID_ARGUMENT, "Invalid CreateProject request:");
    return new ProjectSpec(id, embeddingDim, head, lambda, now, pendingTtlMillis);
  }

  /** What is wrong with a pending TTL in ms (-1: not a valid duration), or null; 0 means none. */
  public static String pendingTtlProblem(long millis) {
    if (millis < 0 || millis > MAX_PENDING_TTL_MILLIS) {
      return (millis < 0 ? "is negative or malformed" : "is " + millis + " ms")
          + "; use 1 ms .. 3650 days, or leave it unset for no expiry";
    }
    return null;
  }
}
