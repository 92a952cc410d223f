"""The renewals panel: a read-only web page over the cache (``renewal-worker panel``)."""
