"""HubSpot: the gateway (the only place the SDK is imported), its errors, types and sandbox."""
