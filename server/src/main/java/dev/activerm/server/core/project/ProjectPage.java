package dev.activerm.server.core.project;

import java.util.List;

/** Projects in id order; nextAfterId is null on the last page. */
public record ProjectPage(List<ProjectInfo> projects, String nextAfterId) {}
