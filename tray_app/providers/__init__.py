"""The provider registry: built-in modules and presets, and the one way to find an account's provider."""

from __future__ import annotations

from urllib.parse import urlsplit

from tray_app.providers import meowload, smarterbot, sociavault, unwatermark
from tray_app.providers.base import Provider
from tray_app.providers.custom import CUSTOM_ID, CustomSpec, build_provider
from tray_app.providers.presets import PRESETS

BUILT_INS: dict[str, Provider] = {
    module.PROVIDER.id: module.PROVIDER for module in (meowload, smarterbot, sociavault, unwatermark)
}
PROVIDERS: dict[str, Provider] = {
    **BUILT_INS,
    **{preset_id: build_provider(spec, preset_id) for preset_id, spec in PRESETS.items()},
}


def get_provider(provider_id: str) -> Provider | None:
    return PROVIDERS.get(provider_id)


def provider_for(provider_id: str, custom: CustomSpec | None = None, base_url: str | None = None) -> Provider | None:
    """An account's provider: its own definition for ``custom``, a preset as it applies on its host."""
    if provider_id == CUSTOM_ID:
        return build_provider(custom) if custom is not None else None
    spec = PRESETS.get(provider_id)
    if spec is not None and spec.units_by_host and base_url:
        return build_provider(spec.for_host(urlsplit(base_url).hostname or ""), provider_id)
    return PROVIDERS.get(provider_id)


__all__ = ["BUILT_INS", "CUSTOM_ID", "PRESETS", "PROVIDERS", "Provider", "get_provider", "provider_for"]
