package dev.activerm.server.core.strategy;

/**
 * Tuning knobs of the strategies that have any. Zero means "use the default" on the wire;
 * {@link #resolve} turns zeros into the documented defaults.
 *
 * @param ridge epsilon of OLS_DOPT / DOPT / PAST_AWARE_DOPT; 0: 1e-6 * trace / h. BATCH_DOPT and VOPT add it
 *     on top of lambda I; 0: none
 * @param coresetClusters CORESET k-means clusters, 1..1000; default 10
 * @param coresetRadius CORESET radius R of the parameter ball in the sensitivity bound; 0: ||w|| of
 *     the model (1 without one)
 * @param posteriorSamples BATCHBALD posterior samples of w, 1..100000; default 256
 * @param batchBaldPool BATCHBALD pre-filter: the top candidates by BALD it chooses from; 0:
 *     max(1000, 10 * batch), at most the candidates
 * @param batchBaldConfigurations BATCHBALD: label configurations enumerated exactly up to this
 *     many, then sampled; default 1024
 */
public record StrategyParams(
    double ridge,
    int coresetClusters,
    double coresetRadius,
    int posteriorSamples,
    int batchBaldPool,
    int batchBaldConfigurations) {

  public static final StrategyParams DEFAULTS = new StrategyParams(0, 0, 0, 0, 0, 0);

  public StrategyParams {
    check(ridge >= 0 && Double.isFinite(ridge), "ridge", ridge, ">= 0 and finite");
    check(coresetClusters >= 0 && coresetClusters <= 1000, "coreset_clusters", coresetClusters, "0..1000");
    check(coresetRadius >= 0 && Double.isFinite(coresetRadius), "coreset_radius", coresetRadius, ">= 0 and finite");
    check(posteriorSamples >= 0 && posteriorSamples <= 100_000, "posterior_samples", posteriorSamples, "0..100000");
    check(batchBaldPool >= 0 && batchBaldPool <= 1_000_000, "batchbald_pool", batchBaldPool, "0..1000000");
    check(batchBaldConfigurations >= 0 && batchBaldConfigurations <= 1 << 16, "batchbald_configurations",
        batchBaldConfigurations, "0..65536");
  }

  private static void check(boolean ok, String field, Object value, String range) {
    if (!ok) {
      throw new IllegalArgumentException("params." + field + " is " + value + "; use " + range + " (0 means the default)");
    }
  }

  /** Defaults filled in (ridge and radius stay 0 = computed from the data). */
  public StrategyParams resolve() {
    return new StrategyParams(
        ridge,
        coresetClusters == 0 ? 10 : coresetClusters,
        coresetRadius,
        posteriorSamples == 0 ? 256 : posteriorSamples,
        batchBaldPool,
        batchBaldConfigurations == 0 ? 1024 : batchBaldConfigurations);
  }
}
