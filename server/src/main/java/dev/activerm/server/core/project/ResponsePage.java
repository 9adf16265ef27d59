package dev.activerm.server.core.project;

import java.util.List;

/**
 * Responses read back. embeddings is null unless asked for, else rows x dim row-major.
 * retired: one flag per id. nextOffset is -1 on the last page.
 */
public record ResponsePage(
    List<String> ids, List<String> promptIds, float[] embeddings, int dim, long nextOffset, boolean[] retired) {}
