"""Load drills: concurrency against the local services, counting what was lost or doubled."""
