package dev.activerm.server.core.model;

/**
 * A fitted Bradley–Terry reward head, seen from the selection strategies:
 * r(x) = w^T phi(x), with phi the identity (LINEAR) or the fitted MLP's last hidden layer.
 * Implementations are immutable, so a model can be shared by concurrent calls.
 */
public interface RewardModel {
  /** Monotonic per project, from 1. */
  long version();

  /** Embedding length D this model reads. */
  int inputDim();

  /** h = dim phi(x): D for LINEAR, the last hidden width for MLP. */
  int featureDim();

  /** phi for n rows of x (row-major, n x D) into out (row-major, n x h). */
  void features(float[] x, int n, float[] out);

  /** Last-layer weights w, length h. Callers must not modify the array. */
  double[] lastLayer();
}
