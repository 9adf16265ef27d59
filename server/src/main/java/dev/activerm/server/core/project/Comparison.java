package dev.activerm.server.core.project;

import java.time.Instant;

/** A stored comparison, as read back. annotatorId is empty when unknown. */
public record Comparison(
    String aId, String bId, Outcome outcome, String annotatorId, double weight, Instant createTime, String id) {}
