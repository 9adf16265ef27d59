package dev.activerm.server.core.errors;

/** One bad field of a request: its path as the API names it (e.g. "response_ids[17]") and why. */
public record FieldViolation(String field, String description) {}
