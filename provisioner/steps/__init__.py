"""One module per step. Each reads live state in bulk, diffs it against the spec, and applies
its own change records; none decides retries or output format."""
