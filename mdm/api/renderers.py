"""DRF's browsable API under the hub's Content Security Policy.

DRF's templates style a few elements with ``style=""`` attributes and a Pygments ``<style>`` block, which the hub's
policy (``style-src 'self'``) refuses. This renderer allows inline styles on the browsable API's pages only;
scripts there stay ``'self'``-only (DRF loads all of its JavaScript from static files), and JSON responses carry
the policy unchanged.
"""

from csp.constants import SELF, UNSAFE_INLINE
from rest_framework import renderers

RELAXED = {"style-src": [SELF, UNSAFE_INLINE]}


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None:
            response._csp_replace = RELAXED
            response._csp_replace_ro = RELAXED
        return super().render(data, accepted_media_type, renderer_context)
