from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DebatesConfig(AppConfig):
    name = "debates"
    verbose_name = _("Live debate")

    def ready(self) -> None:
        # Realtime reads and writes through the debate's functions (it imports nothing of the
        # debate); the debate announces when host rights may change.
        from debates import host_rights, realtime

        realtime.plug_in()
        host_rights.connect()
