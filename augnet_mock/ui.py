"""The live web inbox at `GET /`: static HTML, CSS and vanilla JS, no CDN, no build."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
