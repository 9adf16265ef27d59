package dev.activerm.server.core.project;

/**
 * The range an embedding value may take on the way in (AddResponses, Score's sent
 * embeddings): finite and |x| <= {@link #MAX_ABS}. LLM embeddings are O(1..100); the bound
 * leaves four orders of magnitude above that, and keeps every quantity the server derives
 * (squared feature differences summed over a pool, in double) far from overflow and from
 * rounding that swamps the prior. Rows stored before the bound existed still load; what they
 * cannot compute is reported as FAILED_PRECONDITION where it is computed.
 */
public final class EmbeddingValues {
  public static final double MAX_ABS = 1e6;
  private static final String MAX_ABS_TEXT = "1e6";

  private EmbeddingValues() {}

  /** null when v is accepted, else what is wrong with it (for a field violation). */
  public static String problem(float v) {
    if (!Float.isFinite(v)) {
      return "is " + v + "; embeddings must be finite";
    }
    if (Math.abs(v) > MAX_ABS) {
      return "is " + v + "; embedding values must lie within [-" + MAX_ABS_TEXT + ", " + MAX_ABS_TEXT
          + "] (LLM embeddings are O(1..100)): rescale the embeddings";
    }
    return null;
  }
}
