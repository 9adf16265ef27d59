package dev.activerm.server.store;

/**
 * What start-up needs of a project's responses without reading their ids: the committed row
 * count (the pool file's committed end), the number of distinct prompt ids and of retired rows.
 */
public record ResponseSummary(int rows, int prompts, int retired) {}
