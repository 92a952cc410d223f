"""A built-in HubSpot: a stateful HubSpot-compatible server on loopback and a portal generator."""

from integrations.hubspot.sandbox.faults import Fault
from integrations.hubspot.sandbox.generator import PortalSpec, generate_portal
from integrations.hubspot.sandbox.portal import SandboxPortal
from integrations.hubspot.sandbox.server import DEMO_TOKEN, SandboxHubSpot

__all__ = ["DEMO_TOKEN", "Fault", "PortalSpec", "SandboxHubSpot", "SandboxPortal", "generate_portal"]
