"""The local "external startups API": paged, keyed, rate-limited, occasionally failing."""

from harness.startups_api.app import Faults, Response, StartupsApi
from harness.startups_api.server import StartupsApiServer, serve

__all__ = ["Faults", "Response", "StartupsApi", "StartupsApiServer", "serve"]
