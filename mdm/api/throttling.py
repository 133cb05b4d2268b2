"""API rate limits: per token, per signed-in person, per anonymous address, each with its own rate.

A token's requests count against the token (two connectors of one service account do not share a budget);
a session's against the person; anonymous ones against the address. Each caller meets exactly one of the
three. The rates are read from settings on every request (``MDM_API_RATE_TOKEN``, ``MDM_API_RATE_USER``,
``MDM_API_RATE_ANON``, e.g. ``1200/min``; empty or ``off``: no limit), so they can be changed in a test with
``override_settings``. Counters live in the default cache: one Redis for all web processes in production
(``CACHE_URL``), a process-local memory on a laptop.

Over the limit: 429 with ``Retry-After`` (seconds until the oldest counted request leaves the window) and a
message that says which limit was hit.
"""

from __future__ import annotations

import math

from django.conf import settings
from rest_framework import throttling
from rest_framework.exceptions import Throttled

from mdm.models import ApiToken

PERIODS = {"s": "second", "m": "minute", "h": "hour", "d": "day"}


class _RateThrottle(throttling.SimpleRateThrottle):
    setting = ""
    who = ""

    def get_rate(self):
        rate = (getattr(settings, self.setting, "") or "").strip()
        return None if rate.lower() in ("", "off", "none") else rate

    def caller(self, request) -> str | None:
        """The counter's identity for this request, or None if this throttle does not apply to it."""
        raise NotImplementedError

    def get_cache_key(self, request, view):
        ident = self.caller(request)
        return None if ident is None else self.cache_format % {"scope": self.scope, "ident": ident}

    def wait(self):
        if not self.history:
            return self.duration
        return max(1, math.ceil(self.duration - (self.now - self.history[-1])))

    def throttle_failure(self):
        wait = self.wait()
        period = PERIODS[self.rate.split("/")[1][0]]
        raise Throttled(
            wait=wait,
            detail=(
                f"Rate limit reached: at most {self.num_requests} requests per {period} {self.who}. "
                f"Retry in {wait} seconds."
            ),
        )


class TokenRateThrottle(_RateThrottle):
    scope = "token"
    setting = "MDM_API_RATE_TOKEN"
    who = "for one API token"

    def caller(self, request):
        return str(request.auth.pk) if isinstance(request.auth, ApiToken) else None


class UserRateThrottle(_RateThrottle):
    scope = "user"
    setting = "MDM_API_RATE_USER"
    who = "for one signed-in account"

    def caller(self, request):
        if isinstance(request.auth, ApiToken) or not request.user.is_authenticated:
            return None
        return str(request.user.pk)


class AnonRateThrottle(_RateThrottle):
    scope = "anon"
    setting = "MDM_API_RATE_ANON"
    who = "from one address without credentials"

    def caller(self, request):
        return None if request.user.is_authenticated else self.get_ident(request)
