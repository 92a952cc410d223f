"""HubSpot tasks, the pipeline's last stage (rules' plan → HubSpot): ``planner`` decides what to do
to each task (pure), ``read_back`` reads what HubSpot holds for them with fewest calls,
``creation`` creates the missing ones exactly once, ``emission`` runs the whole and keeps the
ledger, ``texts`` writes what a task says."""
