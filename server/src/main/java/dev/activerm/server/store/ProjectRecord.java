package dev.activerm.server.store;

/**
 * A project row as stored: the key names its pool file; head type is the enum's name;
 * pendingTtlMillis is the default pending TTL of its selections (0: none).
 */
public record ProjectRecord(
    long key, String id, int embeddingDim, String headType, int[] hiddenSizes, double l2, long createTimeMillis,
    long pendingTtlMillis) {}
