from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _event_edited(sender, event_id: int, **kwargs) -> None:
    from debates import live

    live.event_changed(event_id)


class DebatesConfig(AppConfig):
    name = "debates"
    verbose_name = _("Live debate")

    def ready(self) -> None:
        # Realtime reads and writes through the debate's functions (it imports nothing of the
        # debate); the debate announces when host rights may change.
        from debates import (
            host_actions_audience,
            host_actions_stage,
            host_rights,
            realtime,
            realtime_stage,
            rehearsal_actions,  # noqa: F401 (registers its host actions)
        )
        from events.signals import event_changed

        realtime.plug_in()
        # The stage (the speakers' clock, the reveal): its snapshot kinds and host actions.
        realtime_stage.plug_in()
        host_actions_stage.register()
        host_actions_audience.register()  # the questions' moderation joins the one registry
        host_rights.connect()
        # An edited event reaches its open pages: events announces the edit on commit (it may
        # not call live itself) and the debate passes it on.
        event_changed.connect(_event_edited, dispatch_uid="debates.apps.event_edited")
