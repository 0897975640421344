"""The provider registry: the one place a new provider module is listed."""

from __future__ import annotations

from tray_app.providers import meowload, smarterbot, sociavault, unwatermark
from tray_app.providers.base import Provider

PROVIDERS: dict[str, Provider] = {
    module.PROVIDER.id: module.PROVIDER for module in (meowload, smarterbot, sociavault, unwatermark)
}


def get_provider(provider_id: str) -> Provider | None:
    return PROVIDERS.get(provider_id)


__all__ = ["PROVIDERS", "Provider", "get_provider"]
