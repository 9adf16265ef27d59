package dev.activerm.spark;

import java.io.Serializable;

/**
 * The candidate block of a pool response for the generated sources: a pure function of its
 * ids, so the pair generator and the feature stage agree on it without a join, and every
 * pair's two responses share their block.
 */
interface BlockOf extends Serializable {
  int of(String responseId, String promptId);

  /** CROSS_PROMPT: the seeded hash bucket of the response (pairs are drawn inside a bucket). */
  static BlockOf byResponse(int buckets, long seed) {
    return (id, prompt) -> Math.floorMod(Candidates.hash64(id) ^ seed, buckets);
  }

  /** WITHIN_PROMPT: a hash of the prompt (pairs never leave their prompt). */
  static BlockOf byPrompt(int blocks) {
    return (id, prompt) -> Math.floorMod(Candidates.hash64(prompt), blocks);
  }
}
