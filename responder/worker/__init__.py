"""Workers around the core: the outbox dispatcher and scheduled jobs."""
