"""The daemon (APScheduler jobs around worker.cycle.run_cycle). Built in the daemon issue."""
