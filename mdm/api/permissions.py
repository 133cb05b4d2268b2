"""API permissions: authenticated, and holding the model permission that fits the request.

Reads need ``view_<model>`` (DRF's DjangoModelPermissions does not check reads by default, and master
data such as negotiated prices is not for every logged-in account).
"""

from rest_framework.permissions import DjangoModelPermissions


class IsAuthenticatedWithModelPerms(DjangoModelPermissions):
    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": [],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }
