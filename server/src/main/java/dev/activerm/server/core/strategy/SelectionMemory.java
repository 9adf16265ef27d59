package dev.activerm.server.core.strategy;

import dev.activerm.server.core.errors.HeapBudget;

/**
 * The working memory of one strategy run, estimated from sizes alone before anything is
 * allocated (issue 14: SelectBatch at D = 65 536, BATCHBALD at its maxima used to end in
 * OutOfMemoryError). Upper bounds of the dominant arrays, in bytes, as longs that saturate:
 * the touched rows' features (T x h float32, whitened in place; T <= 2 (P + labeled)) and
 * LaplacianGram's double row blocks,
 * the h x h matrices (design or labeled information, its factor, the float32 copy whitening
 * uses, ojAlgo's working copies), the per-candidate arrays, CORESET's P x k distances and
 * BATCHBALD's configurations x candidates predictions and candidates x samples labels.
 */
public final class SelectionMemory {
  /** Bytes per candidate pair in the per-pair arrays (indices, margins, weights, scores, keys). */
  static final long PER_PAIR = 64;
  /** h x h double matrices alive at once at the peak (F, its factor, ojAlgo's copy and L, the labeled pair). */
  static final long SQUARE_DOUBLES = 6;
  /** LaplacianGram's block size in doubles (its BLOCK_DOUBLES). */
  static final long GRAM_BLOCK_DOUBLES = 1 << 22;

  /** Which part of the estimate dominates: it names the knob to lower. */
  enum Part {
    FEATURES,
    SQUARE,
    CORESET,
    BATCHBALD
  }

  record Estimate(long features, long square, long pairs, long coreset, long batchBald) {
    long total() {
      return HeapBudget.sat(HeapBudget.sat(HeapBudget.sat(features, square), HeapBudget.sat(pairs, coreset)), batchBald);
    }

    Part dominant() {
      long f = HeapBudget.sat(features, pairs);
      Part p = Part.FEATURES;
      long best = f;
      if (square > best) {
        p = Part.SQUARE;
        best = square;
      }
      if (coreset > best) {
        p = Part.CORESET;
        best = coreset;
      }
      if (batchBald > best) {
        p = Part.BATCHBALD;
      }
      return p;
    }
  }

  private SelectionMemory() {}

  /**
   * The estimate for a run of strategy s (params resolved) over candidates pairs of a pool of
   * poolRows rows, with h the feature dimension (the embedding dimension without a model).
   */
  static Estimate estimate(Strategy s, StrategyParams params, int poolRows, int h, long candidates, long labeled,
      int batch) {
    if (s == Strategy.RANDOM) {
      return new Estimate(0, 0, HeapBudget.mul(candidates, PER_PAIR), 0, 0);
    }
    long endpoints = HeapBudget.sat(HeapBudget.mul(2, candidates), s.usesLabeled() ? HeapBudget.mul(2, labeled) : 0);
    long t = Math.min(poolRows, endpoints);
    // phi (float32; whitening overwrites it with psi in place) plus the per-pool-row index of Touched.
    long features = HeapBudget.sat(HeapBudget.mul(HeapBudget.mul(t, h), Float.BYTES), HeapBudget.mul(poolRows, Integer.BYTES));
    long pairs = HeapBudget.mul(candidates, PER_PAIR);
    boolean square = s != Strategy.MAX_ENTROPY && s != Strategy.MAX_DIFFERENCE && s != Strategy.CORESET;
    long sq = square ? HeapBudget.mul(HeapBudget.mul(h, h), SQUARE_DOUBLES * Double.BYTES) : 0;
    if (square) {
      // LaplacianGram's row blocks: Phi and L Phi in double (off the heap since issue 13's
      // session 10, NativeScratch; still counted here, so the check stays on the safe side).
      features = HeapBudget.sat(features, HeapBudget.mul(Math.min(HeapBudget.mul(t, h), GRAM_BLOCK_DOUBLES), 4 * Double.BYTES));
    }
    if (s == Strategy.VOPT) {
      // u = psi G next to psi (float32).
      features = HeapBudget.sat(features, HeapBudget.mul(HeapBudget.mul(t, h), Float.BYTES));
    }
    long coreset = 0;
    if (s == Strategy.CORESET) {
      // p x k distances (double), their float32 Gram per touched row, k centers.
      long k = Math.min(params.coresetClusters(), Math.max(1, candidates));
      coreset = HeapBudget.sat(HeapBudget.sat(HeapBudget.mul(HeapBudget.mul(candidates, k), 2 * Double.BYTES), HeapBudget.mul(HeapBudget.mul(t, k), Float.BYTES)), HeapBudget.mul(HeapBudget.mul(k, h), 4));
    }
    long bb = 0;
    if (s == Strategy.BATCHBALD) {
      long n = params.batchBaldPool() > 0 ? params.batchBaldPool() : Math.max(1000, 10L * batch);
      n = Math.max(Math.min(batch, candidates), Math.min(candidates, n));
      long samples = params.posteriorSamples();
      long configs = 2L * params.batchBaldConfigurations(); // a step branches every configuration in two
      bb = HeapBudget.sat(HeapBudget.sat(HeapBudget.mul(HeapBudget.mul(samples, h), Float.BYTES), HeapBudget.mul(HeapBudget.mul(2 * n, h), Float.BYTES)),
          HeapBudget.sat(HeapBudget.mul(HeapBudget.mul(2 * n, samples), Float.BYTES + 2 * Double.BYTES),
              HeapBudget.sat(HeapBudget.mul(HeapBudget.mul(configs, n), Double.BYTES), HeapBudget.mul(HeapBudget.mul(configs, samples), 2 * Double.BYTES))));
    }
    return new Estimate(features, sq, pairs, coreset, bb);
  }

  /** RESOURCE_EXHAUSTED naming the knob to lower when the input's run would not fit in the heap. */
  public static void check(StrategyInput in) {
    int h = in.model() == null ? in.pool().dim() : in.model().featureDim();
    Estimate e = estimate(in.strategy(), in.params(), in.pool().rows(), h, in.candidates().size(),
        in.labeled().size(), in.batchSize());
    String what = "SelectBatch " + in.strategy() + " over " + in.candidates().size() + " candidates (h = " + h + ")";
    HeapBudget.require(e.total(), what, fix(e.dominant(), h));
  }

  private static String fix(Part p, int h) {
    return switch (p) {
      case FEATURES -> "lower max_candidates (or restrict candidates to fewer prompt_ids)";
      case SQUARE -> "its h x h information matrices (h = " + h + ": the LINEAR head's embedding_dim, or the MLP's"
          + " last hidden size) are the bulk: use a strategy without them (MAX_ENTROPY, MAX_DIFFERENCE, CORESET,"
          + " RANDOM) or a project whose features are smaller";
      case CORESET -> "lower params.coreset_clusters or max_candidates";
      case BATCHBALD -> "lower params.batchbald_configurations, params.posterior_samples or params.batchbald_pool";
    };
  }
}
