"""Use cases: each one a single transaction around decisions made by the pure core."""
