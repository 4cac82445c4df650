"""Property-based fuzzing of every parser the platform owns (hypothesis, deterministic, no database)."""
