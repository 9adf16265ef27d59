package dev.activerm.server.core;

import java.util.List;

/**
 * A Score call. Subjects are either stored responses (responseIds, may be empty) or sent
 * embeddings (rows x cols, float32 row-major; null when not sent). Pairs are given as two
 * parallel id lists. modelVersion 0 means the latest.
 */
public record ScoreQuery(
    long modelVersion,
    List<String> responseIds,
    float[] embeddings,
    int embeddingRows,
    int embeddingCols,
    List<String> pairA,
    List<String> pairB) {}
