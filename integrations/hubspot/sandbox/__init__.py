"""A built-in HubSpot: a stateful HubSpot-compatible server on loopback and a portal generator."""

from integrations.hubspot.sandbox.portal import PortalSpec, SandboxPortal, generate_portal
from integrations.hubspot.sandbox.server import DEMO_TOKEN, Fault, SandboxHubSpot

__all__ = ["DEMO_TOKEN", "Fault", "PortalSpec", "SandboxHubSpot", "SandboxPortal", "generate_portal"]
