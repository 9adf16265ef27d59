package dev.activerm.server.store;

/**
 * What a selection's batch adds to lambda I + F(labeled and pending), as stored with it
 * (schema 3): the log det gain in nats, and the reference selection (the project's first
 * with a measured gain) whose gain per label the relative gain divides by. The reference is
 * stored rather than looked up so it never moves.
 */
public record SelectionGain(double logDetGain, String referenceSelectionId, double referenceGainPerLabel) {}
