"""Generated activerm.v1 protobuf messages and gRPC stubs (scripts/generate_stubs.py; do not edit)."""
