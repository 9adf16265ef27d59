package dev.activerm.server.core.linalg;

/** Read access to pool embeddings by row (the project's EmbeddingPool, or a test array). */
public interface RowSource {
  int rows();

  int dim();

  /** Copies row into dst at offset (dim floats). */
  void copyRow(int row, float[] dst, int offset);
}
