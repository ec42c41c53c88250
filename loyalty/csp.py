"""The Content-Security-Policy of every response, with additions per path.

``CONTENT_SECURITY_POLICY`` (django-csp) is the policy of the whole site: every resource from
our own origin, no inline script or style, no eval. ``CSP_PATH_UPDATES`` maps a path prefix to
sources *added* to some directives for the pages under it (the first matching prefix wins),
so a page that needs more asks for it in settings, in one place, without loosening the rest:

    CSP_PATH_UPDATES = {"/admin/": {"script-src": [UNSAFE_EVAL]}}  # from csp.constants

A view decorated with django-csp's ``@csp_update`` keeps its own additions on top.
"""

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings


class PathCSPMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if report_only:
            return parts
        for prefix, additions in getattr(settings, "CSP_PATH_UPDATES", {}).items():
            if request.path_info.startswith(prefix):
                update = {key: list(value) for key, value in (parts.update or {}).items()}
                for directive, sources in additions.items():
                    update[directive] = [*update.get(directive, []), *sources]
                parts.update = update
                break
        return parts
