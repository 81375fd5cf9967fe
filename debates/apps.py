from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DebatesConfig(AppConfig):
    name = "debates"
    verbose_name = _("Live debate")

    def ready(self) -> None:
        # Live learns who hosts from the debate; the debate announces when that may change.
        from debates import host_rights

        host_rights.connect()
