package dev.activerm.server.core.project;

import java.util.List;

/** Comparisons read back in insertion order; nextOffset is -1 on the last page. */
public record ComparisonPage(List<Comparison> comparisons, long nextOffset) {}
