package dev.activerm.server.core.selection;

/** Where SelectBatch's candidate pairs come from. */
public enum CandidateSource {
  EXPLICIT,
  WITHIN_PROMPT,
  CROSS_PROMPT
}
