package dev.activerm.server.core.project;

/** A project with its counters at one moment. */
public record ProjectInfo(
    ProjectSpec spec,
    long numResponses,
    long numComparisons,
    long numPrompts,
    long latestModelVersion,
    long numPendingPairs,
    long numRetiredResponses) {}
