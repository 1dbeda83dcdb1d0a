from django.apps import AppConfig


class DemoConfig(AppConfig):
    """`make demo`: demo users and every app's demo content (``demo_setup``), and the
    web server with real worker processes (``rundemo``). It draws on every app; no app
    draws on it."""

    name = "apps.demo"
    label = "demo"
