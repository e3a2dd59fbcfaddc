"""Django webmail: the project package and the mail UI."""

from .celery import app as celery_app

__all__ = ["celery_app"]
