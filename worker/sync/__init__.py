"""The first stage, HubSpot → cache: ``passes`` (full and incremental passes of each stream, the
reconcile), ``links`` (primary contacts, renewals' companies, the re-check in turns), ``owners``,
``normalize`` (HubSpot's values as the cache keeps them, and what is wrong with them) and
``guard`` (when an answer is too implausible to act on)."""
