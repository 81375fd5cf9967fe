from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecapsConfig(AppConfig):
    name = "recaps"
    verbose_name = _("Recaps")

    def ready(self) -> None:
        # The reveal's panel (the result shown live) is the recap's figures, rendered here: the
        # debate calls it through this plug, as it may not import the recap.
        from debates import realtime_stage
        from recaps import reveal

        realtime_stage.plug_reveal(reveal.reveal_html)
