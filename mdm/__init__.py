"""The MDM hub: Django project and the shared master-data machinery."""

from .celery import app as celery_app

__all__ = ("celery_app",)
