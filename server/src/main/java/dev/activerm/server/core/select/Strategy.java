package dev.activerm.server.core.select;

/** Selection strategies (DESIGN.md, Math). */
public enum Strategy {
  RANDOM(false),
  MAX_ENTROPY(true),
  MAX_DIFFERENCE(true),
  OLS_DOPT(false),
  DOPT(true),
  PAST_AWARE_DOPT(true),
  GREEDY_DOPT(true),
  CORESET(false),
  BALD(true),
  BATCHBALD(true);

  private final boolean needsModel;

  Strategy(boolean needsModel) {
    this.needsModel = needsModel;
  }

  /** True when the strategy needs a fitted model (p_k, r or the posterior). */
  public boolean needsModel() {
    return needsModel;
  }

  /** True when labeled (and pending) pairs enter the information matrix. */
  public boolean usesLabeled() {
    return this == PAST_AWARE_DOPT || this == GREEDY_DOPT || this == BALD || this == BATCHBALD;
  }
}
