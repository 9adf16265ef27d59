"""What the client knows of the service besides the generated stubs: its name, the raw
AddResponses path, and which calls change nothing on the server.

A leaf module: _errors (the DEADLINE_EXCEEDED hint) and _channel (the retry policy) both
read IDEMPOTENT_METHODS from here, so neither imports the other for it.
"""
SERVICE = "activerm.v1.ActiveRewardModelingService"
ADD_RESPONSES_PATH = f"/{SERVICE}/AddResponses"

# Calls that change nothing on the server: retrying them after UNAVAILABLE is safe.
# CreateProject, DeleteProject, AddResponses, AddComparisons, Fit and SelectBatch are
# deliberately absent: a retry after the server applied the first attempt would add a
# second model version or selection, or fail with ALREADY_EXISTS / NOT_FOUND.
# DEADLINE_EXCEEDED is never retried (the deadline covers all attempts).
IDEMPOTENT_METHODS = ("GetProject", "ListProjects", "ListResponses", "ListComparisons", "Score", "GetSelection")
