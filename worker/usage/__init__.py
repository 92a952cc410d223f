"""Each client's own portal, read for its real tier usage ([client_portals], issue 24): ``measure``
reads (I/O), ``projection`` judges where the usage is heading (pure)."""
