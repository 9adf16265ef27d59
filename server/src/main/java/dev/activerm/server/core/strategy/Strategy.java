package dev.activerm.server.core.strategy;

/** Selection strategies (DESIGN.md, Math), each served by one {@link SelectionStrategy} family. */
public enum Strategy {
  RANDOM(false, false, new RandomStrategy()),
  MAX_ENTROPY(true, false, new RewardGapStrategy(true)),
  MAX_DIFFERENCE(true, false, new RewardGapStrategy(false)),
  OLS_DOPT(false, false, new DesignStrategy(DesignStrategy.Kind.OLS)),
  DOPT(true, false, new DesignStrategy(DesignStrategy.Kind.FISHER)),
  PAST_AWARE_DOPT(true, true, new DesignStrategy(DesignStrategy.Kind.PAST_AWARE)),
  GREEDY_DOPT(true, true, new GreedyDoptStrategy()),
  CORESET(false, false, new CoresetStrategy()),
  BALD(true, true, new BaldStrategy()),
  BATCHBALD(true, true, new BatchBaldStrategy()),
  BATCH_DOPT(true, true, new DesignStrategy(DesignStrategy.Kind.BATCH)),
  VOPT(true, true, new DesignStrategy(DesignStrategy.Kind.VOPT));

  private final boolean needsModel;
  private final boolean usesLabeled;
  private final SelectionStrategy implementation;

  Strategy(boolean needsModel, boolean usesLabeled, SelectionStrategy implementation) {
    this.needsModel = needsModel;
    this.usesLabeled = usesLabeled;
    this.implementation = implementation;
  }

  /** True when the strategy needs a fitted model (p_k, r or the posterior). */
  public boolean needsModel() {
    return needsModel;
  }

  /** True when labeled (and pending) pairs enter the information matrix. */
  public boolean usesLabeled() {
    return usesLabeled;
  }

  public SelectionStrategy implementation() {
    return implementation;
  }
}
