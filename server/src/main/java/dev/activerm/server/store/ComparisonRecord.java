package dev.activerm.server.store;

/** A comparison row as stored: responses by pool row, outcome by ordinal. */
public record ComparisonRecord(
    int aRow, int bRow, int outcome, double weight, String annotatorId, long createTimeMillis) {}
