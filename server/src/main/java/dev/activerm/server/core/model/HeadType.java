package dev.activerm.server.core.model;

/** Reward head architecture on top of the frozen embeddings. */
public enum HeadType {
  /** r(x) = w^T x, no bias. */
  LINEAR,
  /** r(x) = w^T phi(x), phi a GELU MLP. */
  MLP
}
