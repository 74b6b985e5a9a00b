"""Build hook: a wheel carries the top-level ``processors/`` folder as ``hepfm_root/processors``.

Only a standard (non-editable) wheel: an editable install maps ``hepfm_root`` onto the checkout
(``dev-mode-exact``), whose ``hepfm_root/processors/__init__.py`` loads ``processors/`` in place;
copying the files into an editable wheel would put a half ``hepfm_root`` folder in site-packages
that shadows the checkout.
"""

from __future__ import annotations

from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class ProcessorsInPackage(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name == "wheel" and version == "standard":
            build_data["force_include"]["processors"] = "hepfm_root/processors"
