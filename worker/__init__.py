"""renewal-worker: HubSpot → cache → rules → tasks, for a HubSpot Solutions Partner."""
