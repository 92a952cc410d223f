"""The daemon: APScheduler jobs around worker.cycle.run_cycle (daemon.py), its metrics and health
endpoints (metrics.py), and the container health check (check.py)."""
